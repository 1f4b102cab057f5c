package io.explainstream.tokenize;

import java.util.List;

/**
 * The Llama-2 chat format, as in Meta's reference code and the {@code chat_template} of
 * {@code Llama-2-*-chat-hf}:
 *
 * <pre>
 * &lt;s&gt;[INST] &lt;&lt;SYS&gt;&gt;\n{system}\n&lt;&lt;/SYS&gt;&gt;\n\n{user} [/INST] {assistant} &lt;/s&gt;&lt;s&gt;[INST] {user} [/INST]
 * </pre>
 *
 * The rendered prompt ends after the last user turn's {@code [/INST]}: the logged response is what
 * the model said next.
 */
public final class Llama2ChatTemplate {

    private Llama2ChatTemplate() {}

    public static String render(List<ChatMessage> messages, String bos, String eos) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("messages: a chat prompt needs at least one message");
        }
        String system = null;
        int first = 0;
        if (messages.get(0).role() == ChatMessage.Role.SYSTEM) {
            system = messages.get(0).content();
            first = 1;
        }
        StringBuilder out = new StringBuilder();
        for (int i = first; i < messages.size(); i++) {
            ChatMessage message = messages.get(i);
            boolean userTurn = (i - first) % 2 == 0;
            if (userTurn != (message.role() == ChatMessage.Role.USER)) {
                throw new IllegalArgumentException("messages[" + i + "]: roles must alternate user/assistant after an optional system message, found "
                        + message.role().jsonName());
            }
            if (userTurn) {
                String content = message.content().strip();
                if (system != null && i == first) {
                    content = "<<SYS>>\n" + system.strip() + "\n<</SYS>>\n\n" + content;
                }
                out.append(bos).append("[INST] ").append(content).append(" [/INST]");
            } else {
                out.append(' ').append(message.content().strip()).append(' ').append(eos);
            }
        }
        if (messages.get(messages.size() - 1).role() != ChatMessage.Role.USER) {
            throw new IllegalArgumentException("messages: the last message must be the user's turn that the response answers");
        }
        return out.toString();
    }
}
