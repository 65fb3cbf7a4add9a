using System.Globalization;
using System.Text;

namespace Filter.Compiler.Tools;

/// <summary>
/// Text from a policy or a program (keys, rule text) made safe to print: nothing in it can move the
/// cursor, start a line, reorder what follows or drive a terminal. Control characters (C0, DEL, C1:
/// newline, tab, ESC, the \x01 a key may hold) become <c>\xHH</c>; invisible format characters (bidi
/// overrides, zero-width characters), line and paragraph separators and unpaired surrogates become
/// <c>\uHHHH</c>. Everything else is kept as written, backslashes included (rule text is source, whose own
/// escapes must read as written).
/// </summary>
public static class PrintableText
{
    public static string Escape(string text)
    {
        int first = 0;
        while (first < text.Length && !NeedsEscape(text, first)) first++;
        if (first == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!NeedsEscape(text, i)) sb.Append(c);
            else if (c <= 0xff) sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) sb.Append(text[++i]);
        }
        return sb.ToString();
    }

    private static bool NeedsEscape(string text, int i)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c)) return i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]);
        if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(text[i - 1]);
        return char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
    }
}
