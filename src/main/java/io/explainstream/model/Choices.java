package io.explainstream.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Reads an option value into one of an enum's constants, by the names users type. */
public final class Choices {

    private Choices() {}

    /**
     * @param name the name users type for a constant, for example {@code gausslegendre}
     * @param key the option or configuration key, named in the error
     * @param noun what a constant is, for the error ("an integration rule")
     */
    public static <E extends Enum<E>> E parse(Class<E> type, Function<E, String> name, String key, String value, String noun) {
        String wanted = value.trim().toLowerCase(Locale.ROOT);
        for (E constant : type.getEnumConstants()) {
            if (name.apply(constant).equals(wanted)) {
                return constant;
            }
        }
        throw new IllegalArgumentException(key + " = '" + value + "' is not " + noun + " (choose one of "
                + Arrays.stream(type.getEnumConstants()).map(name).collect(Collectors.joining(", ")) + ")");
    }
}
