namespace Filter.Compiler.Syntax;

/// <summary>
/// What a syntax error says beyond "unexpected X": the word that was not expected (an operator the language
/// lacks, <c>exe contains "x"</c>, is named whole, not by its first letter), and the operator meant by
/// other languages' spellings of not-equal (<c>=!</c>, <c>&lt;&gt;</c>).
/// </summary>
internal static class SyntaxHints
{
    /// <summary>The word (letters, digits, '_') that starts at <paramref name="at"/> and is not a keyword, if any.</summary>
    public static string? WordAt(string text, int at, IReadOnlySet<string> keywords)
    {
        if (at >= text.Length || !char.IsAsciiLetter(text[at])) return null;
        int end = at;
        while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '_')) end++;
        string word = text[at..end];
        return keywords.Contains(word) ? null : word;
    }

    /// <summary>The hint for an error at <paramref name="at"/> (where the end of the filter, so an operator, could have come when <paramref name="endExpected"/>), or null.</summary>
    public static string? At(string text, int at, IReadOnlySet<string> keywords, bool endExpected)
    {
        if (at >= text.Length) return null;
        if (text[at] == '=' && at + 1 < text.Length && text[at + 1] == '!' || text[at] == '>' && at > 0 && text[at - 1] == '<')
            return " (use '!=' for not equal)";
        // A word where the end could have come is after an operand: an operator the language does not have.
        if (endExpected && WordAt(text, at, keywords) is { } word && text.AsSpan(0, at).TrimEnd().Length > 0)
        {
            string[] operators = ["==", "!=", .. new[] { "startswith", "endswith", "contains" }.Where(keywords.Contains)];
            return $" ('{word}' is not an operator: strings compare with {string.Join(", ", operators[..^1])} or {operators[^1]})";
        }
        return null;
    }
}
