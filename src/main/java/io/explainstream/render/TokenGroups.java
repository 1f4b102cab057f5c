package io.explainstream.render;

import io.explainstream.tokenize.Graphemes;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns vocabulary pieces back into the text people read, and groups the tokens that only mean
 * something together. An explanation record carries no prompt text, only each token's piece and
 * offsets, so the text is rebuilt from them:
 *
 * <ul>
 *   <li>byte-fallback pieces ({@code <0xF0><0x9F><0x90><0xB6>}) are decoded as UTF-8, one group
 *       per character (🐶), and the newline byte becomes a line break;
 *   <li>the tokens of one user-perceived character (an extended grapheme cluster of several code
 *       points: 👩‍💻, 🇫🇷, 👍🏽, e + U+0301) are one group, so that no cell holds half of one;
 *   <li>{@code ▁} is a space, except the leading one that SentencePiece adds to the first word
 *       (the dummy prefix): the token's offsets say it covers no character of the text;
 *   <li>a token of no width (the BOS the tokenizer adds), or a lone dummy-prefix {@code ▁}, is a
 *       boundary, not text;
 *   <li>the Llama-2 chat template's markup ({@code [INST]}, {@code <<SYS>>}, …), which the
 *       tokenizer spells piece by piece, is one group.
 * </ul>
 */
public final class TokenGroups {

    /**
     * A token as a record stores it: its piece ({@code null} when redacted), its offsets, and the
     * index of its prompt segment ({@link #NO_SEGMENT} when none is known). A group never holds
     * tokens of two segments: a span may end inside a grapheme (🇫 of 🇫🇷), and one cell for both
     * would show the whole score under one segment's name.
     */
    public record Piece(String piece, int start, int end, int segment) {
        public Piece(String piece, int start, int end) {
            this(piece, start, end, NO_SEGMENT);
        }
    }

    public static final int NO_SEGMENT = -1;

    /** What a group is, for renderers that show kinds differently. */
    public enum Kind {
        /** One ordinary token. */
        TEXT,
        /**
         * Tokens that together spell one character: the byte-fallback pieces of one code point, or
         * the tokens of one grapheme of several code points (the first may carry text before it,
         * as {@code ▁cafe} does before a combining accent).
         */
        CHARACTER,
        /** A newline (the byte token {@code <0x0A>}, or a piece that is only line breaks). */
        LINE_BREAK,
        /** Chat-template markup spelled over several tokens. */
        MARKUP,
        /** A token that stands for no character of the text: BOS added by the tokenizer, a lone dummy-prefix {@code ▁}. */
        BOUNDARY
    }

    /**
     * Consecutive tokens shown as one unit.
     *
     * @param first index of the first token in the group
     * @param last index of the last token, inclusive
     */
    public record Group(Kind kind, String text, int first, int last) {

        public int size() {
            return last - first + 1;
        }
    }

    /** The Llama-2 chat template's markup, longest first so that {@code <</SYS>>} wins over {@code <<SYS>>}'s prefix. */
    static final List<String> CHAT_MARKUP = List.of("<</SYS>>", "<<SYS>>", "[/INST]", "[INST]", "</s>", "<s>");

    private static final Pattern BYTE_PIECE = Pattern.compile("<0x([0-9A-Fa-f]{2})>");
    private static final String REDACTED = "▒";

    private TokenGroups() {}

    /** The text a sequence of tokens spells: what a prompt or response looked like. */
    public static String text(List<Piece> pieces) {
        StringBuilder out = new StringBuilder();
        for (Group group : of(pieces)) {
            if (group.kind() != Kind.BOUNDARY) {
                out.append(group.text());
            }
        }
        return out.toString();
    }

    public static List<Group> of(List<Piece> pieces) {
        return markup(graphemes(units(pieces), pieces));
    }

    /**
     * The groups of {@link #of} without merging markup: one group per token, except the tokens of
     * one character (byte pieces, or the code points of one grapheme), which are one group. For
     * views that keep a cell per token wherever a token means something alone (the dashboard's
     * token heatmap).
     */
    public static List<Group> characters(List<Piece> pieces) {
        return graphemes(units(pieces), pieces);
    }

    /** One group per token, except byte runs, which become one group per character they encode. */
    private static List<Group> units(List<Piece> pieces) {
        List<Group> units = new ArrayList<>();
        int i = 0;
        while (i < pieces.size()) {
            Piece piece = pieces.get(i);
            if (piece.piece() != null && byteValue(piece.piece()) >= 0) {
                i = character(pieces, i, units);
                continue;
            }
            if (piece.piece() == null) {
                units.add(new Group(Kind.TEXT, REDACTED, i, i));
            } else if (piece.start() == piece.end() || dummyPrefix(piece, i + 1 < pieces.size() ? pieces.get(i + 1) : null)) {
                units.add(new Group(Kind.BOUNDARY, piece.piece(), i, i));
            } else {
                String text = spaces(piece);
                units.add(new Group(!text.isEmpty() && text.chars().allMatch(c -> c == '\n') ? Kind.LINE_BREAK : Kind.TEXT, text, i, i));
            }
            i++;
        }
        return units;
    }

    /**
     * Merges neighbouring units whose texts meet inside one grapheme into one {@link Kind#CHARACTER}
     * group: the byte runs of 👩, ZWJ and 💻 are three units and one character; unless they are in
     * two segments.
     */
    private static List<Group> graphemes(List<Group> units, List<Piece> pieces) {
        List<Group> merged = new ArrayList<>();
        for (Group unit : units) {
            Group previous = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (previous != null && pieces.get(previous.last()).segment() == pieces.get(unit.first()).segment() && oneGrapheme(previous, unit)) {
                merged.set(merged.size() - 1, new Group(Kind.CHARACTER, previous.text() + unit.text(), previous.first(), unit.last()));
            } else {
                merged.add(unit);
            }
        }
        return merged;
    }

    /** Whether the last character of {@code before} goes on into {@code after}'s first ({@link Graphemes}). */
    private static boolean oneGrapheme(Group before, Group after) {
        return before.kind() != Kind.BOUNDARY && after.kind() != Kind.BOUNDARY && Graphemes.continues(before.text(), after.text());
    }

    /** Decodes the UTF-8 character that starts at byte token {@code i}; returns the index after it. */
    private static int character(List<Piece> pieces, int i, List<Group> units) {
        int lead = byteValue(pieces.get(i).piece());
        int length = lead < 0x80 ? 1 : lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        byte[] bytes = new byte[length];
        int taken = 0;
        for (; taken < length && i + taken < pieces.size(); taken++) {
            int value = pieces.get(i + taken).piece() == null ? -1 : byteValue(pieces.get(i + taken).piece());
            if (value < 0 || taken > 0 && (value & 0xC0) != 0x80) {
                break; // not a continuation byte: the character is cut short
            }
            bytes[taken] = (byte) value;
        }
        String text;
        if (taken < length) {
            text = "\uFFFD"; // a lone or cut byte, as a UTF-8 decoder shows it
            taken = Math.max(taken, 1);
        } else {
            text = decode(bytes);
        }
        units.add(new Group(text.equals("\n") ? Kind.LINE_BREAK : length > 1 ? Kind.CHARACTER : Kind.TEXT, text, i, i + taken - 1));
        return i + taken;
    }

    private static String decode(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return "\uFFFD";
        }
    }

    /** The byte a {@code <0xNN>} piece stands for, or -1 for any other piece. */
    static int byteValue(String piece) {
        Matcher matcher = BYTE_PIECE.matcher(piece);
        return matcher.matches() ? Integer.parseInt(matcher.group(1), 16) : -1;
    }

    /**
     * A lone {@code ▁} that SentencePiece put before the first word of a text (or after a special
     * token): the tokenizer gives it the span of the next token's first character, so the next
     * token starts where it starts. A real space is followed by a token that starts after it.
     */
    private static boolean dummyPrefix(Piece piece, Piece next) {
        return piece.piece().equals("▁") && next != null && next.start() == piece.start();
    }

    /**
     * The piece with {@code ▁} as spaces. A leading {@code ▁} is SentencePiece's dummy prefix when
     * the token's span is one shorter than the piece: the offsets say the space is not in the text.
     * Compared in both code points and UTF-16 units, so it holds whichever the offsets count.
     */
    private static String spaces(Piece piece) {
        String text = piece.piece();
        int span = piece.end() - piece.start();
        if (text.startsWith("▁") && (span == text.length() - 1 || span == text.codePointCount(0, text.length()) - 1)) {
            text = text.substring(1);
        }
        return text.replace('▁', ' ');
    }

    /** Merges the tokens that spell one piece of chat-template markup into one group. */
    private static List<Group> markup(List<Group> units) {
        StringBuilder joined = new StringBuilder();
        int[] startOf = new int[units.size() + 1];
        for (int u = 0; u < units.size(); u++) {
            startOf[u] = joined.length();
            if (units.get(u).kind() != Kind.BOUNDARY) {
                joined.append(units.get(u).text());
            }
        }
        startOf[units.size()] = joined.length();
        // occurrence[u]: which markup occurrence unit u helps spell, or -1
        int[] occurrence = new int[units.size()];
        java.util.Arrays.fill(occurrence, -1);
        int from = 0;
        for (int k = 0; ; k++) {
            int[] found = nextMarkup(joined, from);
            if (found == null) {
                break;
            }
            for (int u = 0; u < units.size(); u++) {
                if (units.get(u).kind() != Kind.BOUNDARY && startOf[u] < found[1] && startOf[u + 1] > found[0]) {
                    occurrence[u] = k;
                }
            }
            from = found[1];
        }
        List<Group> out = new ArrayList<>();
        int u = 0;
        while (u < units.size()) {
            int end = u + 1;
            while (occurrence[u] >= 0 && end < units.size() && occurrence[end] == occurrence[u]) {
                end++;
            }
            if (end - u == 1) {
                out.add(units.get(u)); // one token: already one group
            } else {
                StringBuilder text = new StringBuilder();
                for (int m = u; m < end; m++) {
                    text.append(units.get(m).text());
                }
                out.add(new Group(Kind.MARKUP, text.toString(), units.get(u).first(), units.get(end - 1).last()));
            }
            u = end;
        }
        return out;
    }

    /** The next markup occurrence at or after {@code from}: {start, end} in {@code text}, or null. */
    private static int[] nextMarkup(CharSequence text, int from) {
        String haystack = text.toString();
        int best = -1;
        String bestMarkup = null;
        for (String markup : CHAT_MARKUP) {
            int at = haystack.indexOf(markup, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
                bestMarkup = markup;
            }
        }
        return best < 0 ? null : new int[] {best, best + bestMarkup.length()};
    }
}
