package io.explainstream.tokenize;

import java.util.Locale;

/**
 * One message of a chat-form prompt.
 *
 * @param role {@code system}, {@code user} or {@code assistant}
 * @param content the message text
 */
public record ChatTurn(Role role, String content) {

    /** The roles the Llama-2 chat template knows. */
    public enum Role {
        SYSTEM,
        USER,
        ASSISTANT;

        public static Role parse(String field, String value) {
            for (Role role : values()) {
                if (role.name().equalsIgnoreCase(value)) {
                    return role;
                }
            }
            throw new IllegalArgumentException(field + " = '" + value + "' is not a chat role (use system, user or assistant)");
        }

        public String jsonName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public ChatTurn {
        if (role == null || content == null) {
            throw new IllegalArgumentException("a chat message needs a role and content");
        }
    }
}
