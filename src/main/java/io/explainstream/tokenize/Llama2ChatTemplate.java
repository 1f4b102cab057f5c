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

    public static String render(List<ChatTurn> messages, String bos, String eos) {
        return renderWithSpans(messages, bos, eos).text();
    }

    /**
     * The rendered text and, for each message, where its content landed in it. The template strips
     * each content, so a message's span starts {@code leadingTrimmed} characters after its content
     * does.
     */
    public static Rendered renderWithSpans(List<ChatTurn> messages, String bos, String eos) {
        if (messages.isEmpty()) {
            throw new IllegalArgumentException("messages: a chat prompt needs at least one message");
        }
        String system = null;
        int first = 0;
        if (messages.get(0).role() == ChatTurn.Role.SYSTEM) {
            system = messages.get(0).content();
            first = 1;
        }
        StringBuilder out = new StringBuilder();
        MessageSpan[] spans = new MessageSpan[messages.size()];
        for (int i = first; i < messages.size(); i++) {
            ChatTurn message = messages.get(i);
            boolean userTurn = (i - first) % 2 == 0;
            if (userTurn != (message.role() == ChatTurn.Role.USER)) {
                throw new IllegalArgumentException("messages[" + i + "]: roles must alternate user/assistant after an optional system message, found "
                        + message.role().jsonName());
            }
            if (userTurn) {
                out.append(bos).append("[INST] ");
                if (system != null && i == first) {
                    out.append("<<SYS>>\n");
                    spans[0] = append(out, messages.get(0));
                    out.append("\n<</SYS>>\n\n");
                }
                spans[i] = append(out, message);
                out.append(" [/INST]");
            } else {
                out.append(' ');
                spans[i] = append(out, message);
                out.append(' ').append(eos);
            }
        }
        if (messages.get(messages.size() - 1).role() != ChatTurn.Role.USER) {
            throw new IllegalArgumentException("messages: the last message must be the user's turn that the response answers");
        }
        return new Rendered(out.toString(), List.of(spans));
    }

    private static MessageSpan append(StringBuilder out, ChatTurn message) {
        String content = message.content();
        String stripped = content.strip();
        int leading = content.length() - content.stripLeading().length();
        int start = out.length();
        out.append(stripped);
        return new MessageSpan(message.role(), start, out.length(), leading);
    }

    /**
     * Where one message's (stripped) content sits in the rendered text.
     *
     * @param role the message's role
     * @param start first character (UTF-16 index) of the content in the rendered text
     * @param end one past its last character
     * @param leadingTrimmed whitespace characters the template dropped from the content's start:
     *     content offset {@code o} is rendered offset {@code start + o - leadingTrimmed}
     */
    public record MessageSpan(ChatTurn.Role role, int start, int end, int leadingTrimmed) {}

    /** A rendered chat prompt and the span of each message, in the order of the messages. */
    public record Rendered(String text, List<MessageSpan> messages) {}
}
