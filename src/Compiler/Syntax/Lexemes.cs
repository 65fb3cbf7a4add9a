using System.Buffers;
using Pidgin;

namespace Filter.Compiler.Syntax;

/// <summary>
/// The grammar's leaves as parsers of their own: whitespace and comments, symbols and keywords, names, string
/// literals; and a choice that goes by what is ahead. Each behaves as the Pidgin combinators it replaces
/// (<c>Try(String(s).Before(Not(...)))</c>, spanned, labelled, followed by whitespace), error for error:
/// nothing consumed on failure, the same error place and unexpected character, the same label expected;
/// <see cref="OneOf{T}"/> as Pidgin's OneOf of them. They exist for speed: after every operand the parser
/// tries the operators of every level, and through the combinators each failed try cost a dozen parser
/// calls and an expected-list of its own (compiling the pci-dss policy of 46 rules took 107 million
/// instructions, 85 million with the first of these, 47 million with <see cref="OperatorLevels"/> and the
/// rest; parsing had been 61 million of them, 13.5 million now).
/// </summary>
internal static class Lexemes
{
    /// <summary>A character of a name after its first: an ASCII letter or digit, or '_'.</summary>
    public static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    /// <summary>Whitespace and '#' comments to the end of the line; never fails.</summary>
    public static Parser<char, Unit> Whitespace { get; } = new WhitespaceParser();

    /// <summary><paramref name="text"/>, not followed by one of <paramref name="notFollowedBy"/>, then whitespace; its span.</summary>
    public static SymbolParser Symbol(string text, string notFollowedBy = "") =>
        new SymbolParser(text, notFollowedBy.Length == 0 ? null : notFollowedBy.Contains, $"'{text}'");

    /// <summary>The word <paramref name="word"/>, not followed by a name's character, then whitespace; its span.</summary>
    public static SymbolParser Keyword(string word) => new(word, IsNameChar, $"'{word}'");

    /// <summary>A name (<c>[A-Za-z_][A-Za-z0-9_]*</c>), then whitespace: the name and its span. Not labelled.</summary>
    public static Parser<char, (string Value, TextSpan Span)> Name { get; } = new NameParser();

    /// <summary>Skips whitespace and comments from the state's place; as <c>(Whitespace | '#' ...).SkipMany()</c>, ends with the error of the character after them.</summary>
    private static void SkipWhitespace(ref ParseState<char> state)
    {
        while (true)
        {
            var ahead = state.LookAhead(1);
            if (ahead.IsEmpty)
            {
                state.SetError(Maybe.Nothing<char>(), true, state.Location, null);
                return;
            }
            char c = ahead[0];
            if (char.IsWhiteSpace(c)) state.Advance(1);
            else if (c == '#')
            {
                state.Advance(1);
                while (state.LookAhead(1) is [var d] && d != '\n') state.Advance(1);
            }
            else
            {
                state.SetError(Maybe.Just(c), false, state.Location, null);
                return;
            }
        }
    }

    private sealed class WhitespaceParser : Parser<char, Unit>
    {
        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out Unit result)
        {
            SkipWhitespace(ref state);
            result = Unit.Value;
            return true;
        }
    }

    /// <summary>A symbol or keyword: see <see cref="Symbol"/>, <see cref="Keyword"/>.</summary>
    public sealed class SymbolParser(string text, Func<char, bool>? notFollowedBy, string label) : Parser<char, TextSpan>
    {
        internal readonly Expected<char> Expected = new(label);

        internal string Text => text;

        /// <summary>Whether the symbol would match at the start of <paramref name="ahead"/> (at least <see cref="Text"/>'s length and one, or up to the end).</summary>
        internal bool IsAt(ReadOnlySpan<char> ahead) =>
            ahead.StartsWith(text) && !(notFollowedBy is not null && ahead.Length > text.Length && notFollowedBy(ahead[text.Length]));

        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out TextSpan result)
        {
            if (TryMatch(ref state, out result, out var error)) return true;
            state.SetError(error.Unexpected, error.Eof, error.Location, null);
            expecteds.Add(Expected);
            return false;
        }

        /// <summary>The symbol and the whitespace after it, or (nothing consumed) the error String and Not would have set.</summary>
        internal bool TryMatch(ref ParseState<char> state, out TextSpan span, out Failure error)
        {
            span = default;
            long start = state.Location;
            var ahead = state.LookAhead(text.Length + 1);
            int i = 0;
            while (i < text.Length && i < ahead.Length && ahead[i] == text[i]) i++;
            if (i < text.Length)
            {
                // As String(text): the error is at the first character that differs, or at the end.
                error = i < ahead.Length ? new(Maybe.Just(ahead[i]), false, start + i) : new(Maybe.Nothing<char>(), true, start + i);
                return false;
            }
            if (notFollowedBy is not null && ahead.Length > text.Length && notFollowedBy(ahead[text.Length]))
            {
                // As Not(...): the error is at the character that must not follow.
                error = new(Maybe.Just(ahead[text.Length]), false, start + text.Length);
                return false;
            }
            error = default;
            state.Advance(text.Length);
            span = new TextSpan((int)start, (int)start + text.Length);
            SkipWhitespace(ref state);
            return true;
        }
    }

    internal readonly record struct Failure(Maybe<char> Unexpected, bool Eof, long Location);

    /// <summary>
    /// The first of <paramref name="symbols"/> that is there, and its value; as <c>OneOf</c> of them: when none
    /// is, the error of the one that got furthest (the first of those), and every one's label expected.
    /// </summary>
    public static Parser<char, (T Value, TextSpan Span)> OneOf<T>(params (SymbolParser Symbol, T Value)[] symbols) => new ChoiceParser<T>(symbols);

    private sealed class ChoiceParser<T>((SymbolParser Symbol, T Value)[] symbols) : Parser<char, (T Value, TextSpan Span)>
    {
        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out (T Value, TextSpan Span) result)
        {
            Failure furthest = default;
            for (int i = 0; i < symbols.Length; i++)
            {
                if (symbols[i].Symbol.TryMatch(ref state, out var span, out var error))
                {
                    result = (symbols[i].Value, span);
                    return true;
                }
                if (i == 0 || error.Location > furthest.Location) furthest = error;
            }
            state.SetError(furthest.Unexpected, furthest.Eof, furthest.Location, null);
            foreach (var (symbol, _) in symbols) expecteds.Add(symbol.Expected);
            result = default;
            return false;
        }
    }

    /// <summary>A name starts here.</summary>
    public static bool NameAhead(ReadOnlySpan<char> ahead) => IsNameStart(ahead[0]);

    /// <summary>
    /// <paramref name="choice"/>, a choice whose alternatives each start in a way of their own, skipping to
    /// the alternative <paramref name="cases"/> names for what is ahead: the alternatives
    /// before it fail there without consuming anything, and Pidgin keeps no trace of them once another
    /// succeeds or fails after consuming. When the named one fails without consuming, the whole choice runs.
    /// </summary>
    public static Parser<char, T> ByFirstChar<T>(Parser<char, T> choice, params (Starts When, Parser<char, T> Then)[] cases) =>
        new FirstCharParser<T>(choice, cases);

    /// <summary>Whether what is ahead (up to <see cref="StartsLength"/> characters) starts an alternative.</summary>
    public delegate bool Starts(ReadOnlySpan<char> ahead);

    public const int StartsLength = 5;

    private sealed class FirstCharParser<T>(Parser<char, T> choice, (Starts When, Parser<char, T> Then)[] cases) : Parser<char, T>
    {
        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out T result)
        {
            var ahead = state.LookAhead(StartsLength);
            if (!ahead.IsEmpty)
                foreach (var (when, then) in cases)
                {
                    if (!when(ahead)) continue;
                    long start = state.Location;
                    int known = expecteds.Count;
                    bool parsed = then.TryParse(ref state, ref expecteds, out result!);
                    if (!parsed && state.Location != start) return false;
                    // As the choice: what an alternative that succeeded, or failed without consuming, expected is dropped.
                    while (expecteds.Count > known) expecteds.Pop();
                    if (parsed) return true;
                    break;
                }
            return choice.TryParse(ref state, ref expecteds, out result!);
        }
    }

    /// <summary>The label of a bad escape in a string literal.</summary>
    public const string EscapeLabel = "escape (\\\\, \\\", \\n, \\t, \\r, \\0 or \\xHH)";

    /// <summary>
    /// A string literal (spec/language.md): <c>"</c>, characters but <c>"</c>, <c>\</c> and line ends (as
    /// UTF-8) and escapes, <c>"</c>; then whitespace. Its bytes and span. The errors are the combinators':
    /// no opening quote expects <paramref name="label"/> (nothing consumed); a bad escape expects
    /// <see cref="EscapeLabel"/> at the character that is not one; a line end or the end before the closing
    /// quote expects it there.
    /// </summary>
    public static Parser<char, (byte[] Value, TextSpan Span)> StringLiteral(string label) => new StringLiteralParser(label);

    private sealed class StringLiteralParser(string label) : Parser<char, (byte[] Value, TextSpan Span)>
    {
        private readonly Expected<char> _opening = new(label);
        private static readonly Expected<char> Closing = new("closing '\"'"), Escape = new(EscapeLabel);
        private static readonly SearchValues<char> Special = SearchValues.Create("\"\\\n\r");

        [ThreadStatic] private static byte[]? t_bytes;

        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out (byte[] Value, TextSpan Span) result)
        {
            result = default;
            long start = state.Location;
            if (!Expect(ref state, ref expecteds, c => c == '"', _opening)) return false;
            state.Advance(1);
            var bytes = t_bytes ??= new byte[256];
            int length = 0;
            while (true)
            {
                var ahead = state.LookAhead(256);
                int run = ahead.IndexOfAny(Special);
                if (run < 0)
                {
                    // No special character in sight: take what there is (a surrogate pair is never cut).
                    run = ahead.Length < 256 || !char.IsHighSurrogate(ahead[^1]) ? ahead.Length : ahead.Length - 1;
                    if (run == 0)
                    {
                        state.SetError(Maybe.Nothing<char>(), true, state.Location, null);
                        expecteds.Add(Closing);
                        return false;
                    }
                }
                if (run > 0)
                {
                    Append(ref bytes, ref length, ahead[..run]);
                    state.Advance(run);
                    continue;
                }
                switch (ahead[0])
                {
                    case '"':
                        state.Advance(1);
                        result = (bytes.AsSpan(0, length).ToArray(), new TextSpan((int)start, (int)state.Location));
                        t_bytes = bytes;
                        SkipWhitespace(ref state);
                        return true;
                    case '\\':
                        state.Advance(1);
                        if (!TryEscape(ref state, ref expecteds, out byte value)) return false;
                        if (length == bytes.Length) Array.Resize(ref bytes, 2 * bytes.Length);
                        bytes[length++] = value;
                        continue;
                    default: // a line end
                        state.SetError(Maybe.Just(ahead[0]), false, state.Location, null);
                        expecteds.Add(Closing);
                        return false;
                }
            }
        }

        private static void Append(ref byte[] bytes, ref int length, ReadOnlySpan<char> chars)
        {
            int most = System.Text.Encoding.UTF8.GetMaxByteCount(chars.Length);
            if (length + most > bytes.Length) Array.Resize(ref bytes, Math.Max(2 * bytes.Length, length + most));
            length += System.Text.Encoding.UTF8.GetBytes(chars, bytes.AsSpan(length));
        }

        private static bool TryEscape(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out byte value)
        {
            value = 0;
            var ahead = state.LookAhead(1);
            char c = ahead.IsEmpty ? '\0' : ahead[0];
            byte? simple = ahead.IsEmpty ? null : c switch
            {
                '\\' or '"' => (byte)c,
                'n' => (byte)'\n',
                't' => (byte)'\t',
                'r' => (byte)'\r',
                '0' => 0,
                _ => null,
            };
            if (simple is { } b)
            {
                state.Advance(1);
                value = b;
                return true;
            }
            if (!Expect(ref state, ref expecteds, x => x == 'x', Escape)) return false;
            state.Advance(1);
            int hex = 0;
            for (int i = 0; i < 2; i++)
            {
                if (!Expect(ref state, ref expecteds, char.IsAsciiHexDigit, Escape)) return false;
                char d = state.LookAhead(1)[0];
                hex = hex * 16 + (char.IsAsciiDigit(d) ? d - '0' : (d | 0x20) - 'a' + 10);
                state.Advance(1);
            }
            value = (byte)hex;
            return true;
        }

        /// <summary>Whether the next character is one <paramref name="ok"/> takes; if not, the error there, expecting <paramref name="expected"/>.</summary>
        private static bool Expect(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, Func<char, bool> ok, Expected<char> expected)
        {
            var next = state.LookAhead(1);
            if (!next.IsEmpty && ok(next[0])) return true;
            state.SetError(next.IsEmpty ? Maybe.Nothing<char>() : Maybe.Just(next[0]), next.IsEmpty, state.Location, null);
            expecteds.Add(expected);
            return false;
        }
    }

    private sealed class NameParser : Parser<char, (string Value, TextSpan Span)>
    {
        public override bool TryParse(ref ParseState<char> state, ref PooledList<Expected<char>> expecteds, out (string Value, TextSpan Span) result)
        {
            result = default;
            long start = state.Location;
            var first = state.LookAhead(1);
            if (first.IsEmpty || !IsNameStart(first[0]))
            {
                if (first.IsEmpty) state.SetError(Maybe.Nothing<char>(), true, start, null);
                else state.SetError(Maybe.Just(first[0]), false, start, null);
                return false;
            }
            // Names are short: look ahead in growing steps until one ends.
            int length = 1;
            for (int window = 16; ; window *= 2)
            {
                var ahead = state.LookAhead(window);
                while (length < ahead.Length && IsNameChar(ahead[length])) length++;
                if (length < ahead.Length || ahead.Length < window)
                {
                    result = (new string(ahead[..length]), new TextSpan((int)start, (int)start + length));
                    break;
                }
            }
            state.Advance(length);
            SkipWhitespace(ref state);
            return true;
        }
    }
}
