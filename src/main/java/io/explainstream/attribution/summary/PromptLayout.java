package io.explainstream.attribution.summary;

import io.explainstream.tokenize.ChatTurn;
import io.explainstream.tokenize.EncodedText;
import io.explainstream.tokenize.Llama2ChatTemplate.MessageSpan;
import io.explainstream.tokenize.LlamaTokenizer.ChatEncoding;
import io.explainstream.tokenize.Token;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * How a prompt's tokens partition into segments and words, before any score: what the service
 * computes when it admits an event (it keeps this, not the prompt text) and the CLI when it reads
 * one.
 *
 * <p>The rules, so that every token is in exactly one segment and one word:
 *
 * <ul>
 *   <li>A token's <em>anchor</em> is the first non-whitespace character it covers, or its start
 *       when it covers none (a {@code ▁} or newline piece, the empty span of a prepended {@code ▁}).
 *       So a word piece {@code ▁dog}, whose span includes the space before it, goes with its word.
 *   <li>Segments: a BOS or EOS of no characters (the one prepended) stays in the first segment
 *       ({@code prompt} or {@code template}); any other token, a special one spelt in the text
 *       included, belongs to the caller's span that holds its anchor, else to the message that
 *       holds it, else to the first segment. A token straddling a span edge therefore belongs to
 *       the span holding its anchor.
 *   <li>Words: a word is a maximal run of non-whitespace characters, cut at segment edges. A
 *       token belongs to the word its anchor falls in; BOS and EOS are words of their own. Tokens
 *       of spaces before a word of their segment (sentencepiece's lone {@code ▁} before an
 *       emoji's byte pieces, the pieces of a run of spaces) go with that word; other whitespace
 *       (a line end, a tab) is a word of its own, the byte pieces of one character together.
 * </ul>
 *
 * @param segments the segments: the first one ({@code prompt}, or {@code template} for chat), the
 *     messages in order, then the caller's spans in the order given
 * @param tokenSegment (P) the index in {@code segments} of each prompt token's segment
 * @param words the words, in prompt order; their token runs cover all prompt tokens
 */
public record PromptLayout(List<SegmentDefinition> segments, int[] tokenSegment, List<WordSpan> words) {

    /** The names of the segments every prompt has: its whole text, the chat template and each message. */
    private static final java.util.regex.Pattern BUILT_IN_NAME = java.util.regex.Pattern.compile("prompt|template|system|(user|assistant)\\[\\d+]");

    /** The bidirectional controls: ALM, LRM, RLM, the embeddings and overrides, the isolates. */
    private static final java.util.Set<Character> BIDI_CONTROLS = java.util.Set.of('\u061C', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C',
            '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069');

    public PromptLayout {
        segments = List.copyOf(segments);
        words = List.copyOf(words);
    }

    /**
     * A plain-text prompt: one segment {@code prompt}, then the caller's spans (offsets into the text).
     *
     * @throws IllegalArgumentException naming the span, when a span is bad
     */
    public static PromptLayout plain(EncodedText prompt, List<SpanRequest> spans, LongPredicate special) {
        checkCommon(spans);
        List<SegmentDefinition> named = new ArrayList<>();
        for (int i = 0; i < spans.size(); i++) {
            SpanRequest span = spans.get(i);
            if (span.message() != null) {
                throw new IllegalArgumentException(label(i, span) + ": message = " + span.message() + ", but the prompt is plain text, not messages");
            }
            checkRange(i, span, prompt.text(), "the prompt's");
            named.add(new SegmentDefinition(span.name(), SegmentKind.SPAN, span.start(), span.end()));
        }
        checkOverlaps(spans);
        List<SegmentDefinition> base = List.of(new SegmentDefinition("prompt", SegmentKind.PROMPT, 0, prompt.text().length()));
        return partition(prompt.text(), prompt.tokens(), base, named, special);
    }

    /**
     * A chat prompt: {@code template}, one segment per message named by role and index among that
     * role ({@code system}, {@code user[0]}, {@code assistant[0]}, {@code user[1]}, ...), then the
     * caller's spans (offsets into one message's content).
     *
     * @param tokens the prompt tokens to partition: the chat encoding's, or fewer after truncation
     * @throws IllegalArgumentException naming the span, when a span is bad
     */
    public static PromptLayout chat(ChatEncoding chat, List<Token> tokens, List<ChatTurn> messages, List<SpanRequest> spans,
            LongPredicate special) {
        checkCommon(spans);
        String text = chat.encoded().text();
        List<SegmentDefinition> base = new ArrayList<>();
        base.add(new SegmentDefinition("template", SegmentKind.TEMPLATE, 0, text.length()));
        Map<ChatTurn.Role, Integer> seen = new HashMap<>();
        for (MessageSpan message : chat.messages()) {
            int index = seen.merge(message.role(), 1, Integer::sum) - 1;
            String name = message.role() == ChatTurn.Role.SYSTEM ? "system" : message.role().jsonName() + "[" + index + "]";
            base.add(new SegmentDefinition(name, SegmentKind.valueOf(message.role().name()), message.start(), message.end()));
        }
        List<SegmentDefinition> named = new ArrayList<>();
        for (int i = 0; i < spans.size(); i++) {
            SpanRequest span = spans.get(i);
            if (span.message() == null) {
                throw new IllegalArgumentException(label(i, span) + ": message is required for a chat prompt (the index of the message whose content"
                        + " the offsets point into)");
            }
            int m = span.message();
            if (m < 0 || m >= messages.size()) {
                throw new IllegalArgumentException(label(i, span) + ": message = " + m + " is out of range: the prompt has " + messages.size() + " messages");
            }
            checkRange(i, span, messages.get(m).content(), "messages[" + m + "].content's");
            // The template strips each content: map the caller's offsets into the rendered text.
            MessageSpan where = chat.messages().get(m);
            int start = clamp(where.start() + span.start() - where.leadingTrimmed(), where.start(), where.end());
            int end = clamp(where.start() + span.end() - where.leadingTrimmed(), where.start(), where.end());
            named.add(new SegmentDefinition(span.name(), SegmentKind.SPAN, start, end));
        }
        checkOverlaps(spans);
        return partition(text, tokens, base, named, special);
    }

    /** The partition itself; {@code base.get(0)} takes every token no other segment holds. */
    static PromptLayout partition(String text, List<Token> tokens, List<SegmentDefinition> base, List<SegmentDefinition> named,
            LongPredicate special) {
        List<SegmentDefinition> segments = new ArrayList<>(base);
        segments.addAll(named);
        int[] tokenSegment = new int[tokens.size()];
        for (int i = 0; i < tokens.size(); i++) {
            Token token = tokens.get(i);
            // A prepended BOS covers no character; one spelt in the text ("<s>" typed in a message) lies where its characters do.
            tokenSegment[i] = special.test(token.id()) && token.start() >= token.end() ? 0 : segmentOf(anchor(text, token), base, named);
        }
        return new PromptLayout(segments, tokenSegment, words(text, tokens, tokenSegment, special));
    }

    private static int segmentOf(int anchor, List<SegmentDefinition> base, List<SegmentDefinition> named) {
        for (int s = 0; s < named.size(); s++) {
            if (named.get(s).start() <= anchor && anchor < named.get(s).end()) {
                return base.size() + s;
            }
        }
        for (int s = 1; s < base.size(); s++) {
            if (base.get(s).start() <= anchor && anchor < base.get(s).end()) {
                return s;
            }
        }
        return 0;
    }

    /** The first non-whitespace character the token covers, else its start. */
    static int anchor(String text, Token token) {
        int end = Math.min(token.end(), text.length());
        for (int c = token.start(); c < end; c++) {
            if (!Character.isWhitespace(text.charAt(c))) {
                return c;
            }
        }
        return token.start();
    }

    private static List<WordSpan> words(String text, List<Token> tokens, int[] tokenSegment, LongPredicate special) {
        List<WordSpan> words = new ArrayList<>();
        int first = 0; // first token of the word being built
        Run run = null; // the run that word is in; null: a word of its own
        for (int i = 0; i <= tokens.size(); i++) {
            Run current = null;
            if (i < tokens.size()) {
                current = run(text, tokens, tokenSegment, special, i);
                if (current == null && !special.test(tokens.get(i).id())) {
                    current = blank(text, tokens, tokenSegment, special, i);
                }
                if (i > first && current != null && current.equals(run)) {
                    continue;
                }
            }
            if (i > first) {
                words.add(word(text, tokens, first, i, run));
            }
            first = i;
            run = current;
        }
        return words;
    }

    /**
     * A maximal run of non-whitespace characters of one segment, which a word lies in; or, blank,
     * the whitespace one token covers, which the byte pieces of one whitespace character share.
     *
     * @param segment the segment of the tokens anchored in it
     * @param start its first character
     * @param end one past its last
     * @param blank whitespace, not a run of non-whitespace
     */
    private record Run(int segment, int start, int end, boolean blank) {}

    /** The run token {@code i} is anchored in; null for BOS, EOS and tokens of whitespace only. */
    private static Run run(String text, List<Token> tokens, int[] tokenSegment, LongPredicate special, int i) {
        Token token = tokens.get(i);
        int anchor = anchor(text, token);
        if (special.test(token.id()) || anchor >= text.length() || Character.isWhitespace(text.charAt(anchor))) {
            return null;
        }
        int start = anchor;
        while (start > 0 && !Character.isWhitespace(text.charAt(start - 1))) {
            start--;
        }
        int end = anchor;
        while (end < text.length() && !Character.isWhitespace(text.charAt(end))) {
            end++;
        }
        return new Run(tokenSegment[i], start, end, false);
    }

    /**
     * The word of a token of whitespace only (or of no character, as a prepended "▁"). Spaces
     * before a word of the segment, however many tokens spell them (sentencepiece's lone "▁"
     * before an emoji's or a CJK word's byte pieces, "▁" pieces of a run of spaces, the byte pieces
     * of an ideographic space), stand for that word's space, as "▁dog"'s does: they go with it.
     * Spaces at the end of a segment, or before a special token, are one word; other whitespace (a
     * line end, a tab) is a word of its own, the byte pieces of one character together; either
     * with a token of no character just before it. Null for a token of no character that neither a
     * word nor whitespace follows.
     */
    private static Run blank(String text, List<Token> tokens, int[] tokenSegment, LongPredicate special, int i) {
        int from = Math.min(tokens.get(i).start(), text.length());
        int to = Math.min(tokens.get(i).end(), text.length());
        if (spaces(text, from, to)) {
            // The first token after the spaces that is not spaces itself: the word they stand before.
            int j = i + 1;
            while (j < tokens.size() && !special.test(tokens.get(j).id()) && tokenSegment[j] == tokenSegment[i]
                    && spaces(text, Math.min(tokens.get(j).start(), text.length()), Math.min(tokens.get(j).end(), text.length()))) {
                j++; // a token of spaces only (or of none) is never anchored in a run
            }
            Run next = j < tokens.size() && tokenSegment[j] == tokenSegment[i] ? run(text, tokens, tokenSegment, special, j) : null;
            if (next != null && next.start() >= from && spaces(text, from, next.start())) {
                return next;
            }
        }
        if (to > from && spaces(text, from, to)) {
            // Spaces ending their segment: one word of the whole run of spaces, whatever tokens spell it.
            int start = from;
            while (start > 0 && spaces(text, start - 1, start)) {
                start--;
            }
            int end = to;
            while (end < text.length() && spaces(text, end, end + 1)) {
                end++;
            }
            return new Run(tokenSegment[i], start, end, true);
        }
        if (to > from) {
            return new Run(tokenSegment[i], from, to, true);
        }
        // A token of no character (a prepended "▁") before spaces that end their segment, or come
        // before a special token: it goes with those spaces, rather than be a word "▁" of no span.
        if (i + 1 < tokens.size() && tokenSegment[i + 1] == tokenSegment[i] && !special.test(tokens.get(i + 1).id())
                && tokens.get(i + 1).start() == tokens.get(i).start()) {
            Run next = blank(text, tokens, tokenSegment, special, i + 1);
            return next != null && next.blank() ? next : null;
        }
        return null;
    }

    /** Whether [from, to) holds space separators only (' ', U+3000, …; not a line end or a tab, which end a line or a field); true when empty. */
    private static boolean spaces(String text, int from, int to) {
        for (int c = from; c < to; c++) {
            if (Character.getType(text.charAt(c)) != Character.SPACE_SEPARATOR) {
                return false;
            }
        }
        return true;
    }

    private static WordSpan word(String text, List<Token> tokens, int first, int end, Run run) {
        Token head = tokens.get(first);
        if (run == null) {
            // BOS, EOS or a token of no character: the token alone, named by its text (or piece when it covers none).
            String covered = text.substring(Math.min(head.start(), text.length()), Math.min(head.end(), text.length()));
            return new WordSpan(covered.isEmpty() ? head.piece() : covered, head.start(), head.end(), first, end);
        }
        // Cut to the tokens' reach: a truncated prompt may start inside a word, a span may cut one.
        int from = Math.max(run.start(), head.start());
        int to = Math.min(run.end(), tokens.get(end - 1).end());
        return new WordSpan(text.substring(from, to), from, to, first, end);
    }

    private static void checkCommon(List<SpanRequest> spans) {
        if (spans.size() > SpanRequest.MAX_SPANS) {
            throw new IllegalArgumentException("segments has " + spans.size() + " spans, at most " + SpanRequest.MAX_SPANS);
        }
        Map<String, Integer> names = new HashMap<>();
        for (int i = 0; i < spans.size(); i++) {
            SpanRequest span = spans.get(i);
            if (span.name() == null || span.name().isEmpty()) {
                throw new IllegalArgumentException("segments[" + i + "].name is empty");
            }
            if (span.name().codePoints().allMatch(PromptLayout::blank)) {
                throw new IllegalArgumentException("segments[" + i + "].name is only white space (" + span.name().length() + " characters)");
            }
            // Counted in code points, as a reader counts them: 128 🐶 were refused as "256 characters" (UTF-16 units).
            int nameChars = span.name().codePointCount(0, span.name().length());
            if (nameChars > SpanRequest.MAX_NAME_CHARS) {
                throw new IllegalArgumentException("segments[" + i + "].name is " + nameChars + " characters, at most " + SpanRequest.MAX_NAME_CHARS);
            }
            // A name is an identifier that dashboards show and group by: a control character in it is garbage, as in event_id.
            for (int c = 0; c < span.name().length(); c++) {
                if (Character.isISOControl(span.name().charAt(c))) {
                    throw new IllegalArgumentException(String.format(java.util.Locale.ROOT, "segments[%d].name contains the control character U+%04X at index %d",
                            i, (int) span.name().charAt(c), c));
                }
            }
            int invisible = invisibleAt(span.name());
            if (invisible >= 0) {
                throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                        "segments[%d].name contains the invisible character U+%04X at index %d: give names that read as they are",
                        i, span.name().codePointAt(invisible), invisible));
            }
            if (blank(span.name().codePointAt(0)) || blank(span.name().codePointBefore(span.name().length()))) {
                // "prompt " would read as the built-in prompt segment in every table, and " a" as "a".
                throw new IllegalArgumentException(label(i, span) + ": the name begins or ends with white space");
            }
            if (BUILT_IN_NAME.matcher(span.name().toLowerCase(java.util.Locale.ROOT)).matches()) {
                // Two segments of one name would merge in every dashboard that groups by name.
                throw new IllegalArgumentException(label(i, span) + ": the name is reserved for the built-in segments (prompt, template, system,"
                        + " user[N], assistant[N]); give the span another name");
            }
            // By their NFC form: café spelt with é and with e + U+0301 reads as one name on every page.
            Integer earlier = names.putIfAbsent(java.text.Normalizer.normalize(span.name(), java.text.Normalizer.Form.NFC), i);
            if (earlier != null && !spans.get(earlier).name().equals(span.name())) {
                throw new IllegalArgumentException(label(i, span) + ": the name is also segments[" + earlier + "]'s in another Unicode form (the same"
                        + " in NFC); give names that read alike one spelling");
            }
            if (earlier != null) {
                throw new IllegalArgumentException(label(i, span) + ": the name is also segments[" + earlier + "]'s");
            }
        }
    }

    /** White space, the no-break spaces included (U+00A0, U+202F), which Java's strip and isBlank leave. */
    private static boolean blank(int codePoint) {
        return Character.isWhitespace(codePoint) || Character.isSpaceChar(codePoint);
    }

    /**
     * The index of the first character of the name that shows nothing, or -1. An invisible
     * character makes two names that read alike ("doc:a" and "doc:a" + U+200B), or a name that
     * reads as nothing (U+FEFF, U+3164): format characters (in every plane: a tag, a musical
     * format), the other default-ignorable ones (fillers, variation selectors, the combining
     * grapheme joiner) and the braille blank. Allowed: the bidirectional controls, which every page
     * and terminal spells out (\u202e), and the parts of an emoji sequence: a joiner between two
     * symbols (👩‍💻), a variation selector after a symbol (🏳️), tags after a black flag.
     */
    private static int invisibleAt(String name) {
        int previous = -1;
        for (int c = 0; c < name.length(); c += Character.charCount(name.codePointAt(c))) {
            int cp = name.codePointAt(c);
            int next = c + Character.charCount(cp) < name.length() ? name.codePointAt(c + Character.charCount(cp)) : -1;
            boolean ignorable = Character.getType(cp) == Character.FORMAT || cp == 0x034F || cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5
                    || (cp >= 0x180B && cp <= 0x180F) || cp == 0x2800 || cp == 0x3164 || cp == 0xFFA0 || (cp >= 0xFE00 && cp <= 0xFE0F)
                    || (cp >= 0xE0100 && cp <= 0xE01EF);
            boolean emojiPart = cp == 0x200D ? symbol(previous) && symbol(next)
                    : (cp == 0xFE0E || cp == 0xFE0F) ? symbol(previous)
                    : cp >= 0xE0020 && cp <= 0xE007F && (previous == 0x1F3F4 || (previous >= 0xE0020 && previous <= 0xE007F));
            if (ignorable && !emojiPart && !(cp <= 0xFFFF && BIDI_CONTROLS.contains((char) cp))) {
                return c;
            }
            previous = cp;
        }
        return -1;
    }

    /** A symbol an emoji sequence joins: a pictograph, or a variation selector or skin tone that ends one. */
    private static boolean symbol(int codePoint) {
        return codePoint >= 0 && (Character.getType(codePoint) == Character.OTHER_SYMBOL || Character.getType(codePoint) == Character.MODIFIER_SYMBOL
                || codePoint == 0xFE0F);
    }

    private static void checkRange(int i, SpanRequest span, String text, String what) {
        int length = text.length();
        if (span.start() >= 0 && span.end() <= length && span.start() >= span.end()) {
            throw new IllegalArgumentException(label(i, span) + ": start = " + span.start() + ", end = " + span.end() + " holds no character: a span"
                    + " needs start < end");
        }
        if (span.start() < 0 || span.end() > length) {
            throw new IllegalArgumentException(label(i, span) + ": start = " + span.start() + ", end = " + span.end() + " is out of range of "
                    + what + " " + length + " characters (0 <= start < end <= " + length + ")");
        }
        checkEdge(i, span, "start", span.start(), text);
        checkEdge(i, span, "end", span.end(), text);
    }

    /**
     * An offset between the two halves of a surrogate pair cuts a character in two. It is what a
     * producer that counts code points (Python's len and slices) sends for a text with an emoji
     * before the span, so the error says how offsets are counted.
     */
    private static void checkEdge(int i, SpanRequest span, String field, int offset, String text) {
        if (offset > 0 && offset < text.length() && Character.isSurrogatePair(text.charAt(offset - 1), text.charAt(offset))) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "%s: %s = %d falls inside the character U+%04X, between its two UTF-16 code units; offsets count UTF-16 code units"
                            + " (a character beyond U+FFFF, such as most emoji, counts 2), not code points",
                    label(i, span), field, offset, text.codePointAt(offset - 1)));
        }
    }

    /** Spans in the same text (the prompt, or the same message) must not share a character. */
    private static void checkOverlaps(List<SpanRequest> spans) {
        for (int i = 0; i < spans.size(); i++) {
            for (int j = 0; j < i; j++) {
                SpanRequest a = spans.get(j);
                SpanRequest b = spans.get(i);
                if (java.util.Objects.equals(a.message(), b.message()) && a.start() < b.end() && b.start() < a.end()) {
                    throw new IllegalArgumentException(label(i, b) + " [" + b.start() + ", " + b.end() + ") overlaps " + label(j, a) + " ["
                            + a.start() + ", " + a.end() + ")");
                }
            }
        }
    }

    private static String label(int i, SpanRequest span) {
        return "segments[" + i + "] '" + span.name() + "'";
    }

    private static int clamp(int value, int low, int high) {
        return Math.max(low, Math.min(high, value));
    }
}
