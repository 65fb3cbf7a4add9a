using Filter.Compiler.Syntax;

namespace Filter.Compiler.Tools;

/// <summary>
/// The text of a compiled policy, for tools that talk about it in source terms: the text and line of a
/// span, and which macro a bound node came from. The bound tree keeps no macro names (a macro's use is
/// its bound body, shared), but every node keeps its span: a node whose span lies in a macro definition's
/// body came from that macro.
/// </summary>
public sealed class PolicySource
{
    private readonly List<(string Name, TextSpan Body)> _macros = [];

    public PolicySource(string text)
    {
        Text = text;
        // The text compiled, so it parses; a failure leaves the map empty (nodes are then shown by their text).
        if (FilterParser.Parse(text).Tree is { } tree)
            foreach (var statement in tree.Statements)
                if (statement is MacroDefinitionSyntax m) _macros.Add((m.Name.Name, m.Body.Span));
    }

    public string Text { get; }

    /// <summary>The source text of a span, on one line (line breaks and runs of spaces become one space).</summary>
    public string TextOf(TextSpan span)
    {
        int start = Math.Clamp(span.Start, 0, Text.Length), end = Math.Clamp(span.End, start, Text.Length);
        return string.Join(' ', Text[start..end].Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// A rule as written (<c>always "exec": root_exec</c>); a filter written as one expression is shown as the
    /// anonymous rule it is (<c>always: EXPR</c>).
    /// </summary>
    public string RuleText(Binding.BoundRule rule)
    {
        string text = TextOf(rule.Span);
        return text.StartsWith("always", StringComparison.Ordinal) || text.StartsWith("never", StringComparison.Ordinal) ? text : $"always: {text}";
    }

    /// <summary>1-based line of an offset.</summary>
    public int LineOf(int offset) => Diagnostic.LineColumn(Text, offset).Line;

    /// <summary>The macro whose body holds <paramref name="span"/> (the innermost), or null.</summary>
    public (string Name, TextSpan Body)? MacroAt(TextSpan span)
    {
        (string, TextSpan)? best = null;
        foreach (var (name, body) in _macros)
            if (Contains(body, span) && (best is null || body.Length < best.Value.Item2.Length)) best = (name, body);
        return best;
    }

    public static bool Contains(TextSpan outer, TextSpan inner) => outer.Start <= inner.Start && inner.End <= outer.End;
}
