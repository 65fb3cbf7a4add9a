using System.Text;

namespace Filter.Compiler;

/// <summary>A half-open range of character offsets [Start, End) in the filter text.</summary>
public readonly record struct TextSpan(int Start, int End)
{
    public int Length => End - Start;
    public static TextSpan Cover(TextSpan a, TextSpan b) => new(Math.Min(a.Start, b.Start), Math.Max(a.End, b.End));
}

/// <summary>
/// Stable diagnostic codes (spec/diagnostics.md). FLT00xx: syntax; FLT01xx: names; FLT02xx: types;
/// FLT03xx: limits. The verifier's FLT2xxx codes are its rules.
/// </summary>
public enum DiagnosticCode
{
    SyntaxError = 1,
    BadStringLiteral = 2,
    NestingTooDeep = 3,
    InputTooLong = 4,
    NoRules = 5,
    MixedExpressionAndRules = 6,
    /// <summary>Text that is not Unicode: a byte of a file that is not UTF-8, an unpaired surrogate.</summary>
    InvalidText = 7,
    NumberTooLarge = 101,
    UnknownField = 102,
    UnknownSyscall = 103,
    UnknownName = 104,
    MisplacedName = 105,
    UnknownDefinition = 106,
    NameHidesBuiltin = 107,
    DuplicateDefinition = 108,
    UseBeforeDefinition = 109,
    WrongKindOfName = 110,
    TypeMismatch = 201,
    OperatorNotApplicable = 202,
    SetElementNotConstant = 203,
    EmptyRange = 204,
    ProgramTooLong = 301,
    TooManyRegisters = 302,
    SetTooLarge = 303,
    BadKey = 304,
    ExpansionTooLarge = 305,
    ConstantOutOfFieldRange = 401,
    StringLongerThanField = 402,
    FieldNamedLikeSyscall = 403,
    // filterc analyze (src/Compiler/Tools/PolicyAnalyzer.cs): warnings only the analysis can give.
    /// <summary>A rule whose condition no record satisfies (proven).</summary>
    RuleNeverMatches = 501,
    /// <summary>A rule that matches some records, but every one of them is decided by an earlier rule (proven).</summary>
    RuleShadowed = 502,
    /// <summary>A (sub-)condition that holds on every record.</summary>
    AlwaysTrue = 503,
    /// <summary>A sub-condition that holds on no record.</summary>
    AlwaysFalse = 504,
    /// <summary>A rule for which the analysis found no record it decides, without proving that none exists.</summary>
    RuleMayNeverDecide = 505,
}

public enum Severity { Error, Warning }

/// <summary>A problem with a filter, positioned in its text. Errors are data; exceptions are for bugs.</summary>
public sealed record Diagnostic(DiagnosticCode Code, TextSpan Span, string Message, Severity Severity = Severity.Error)
{
    public string CodeText => $"FLT{(int)Code:D4}";

    /// <summary>1-based line and column (in characters) of an offset.</summary>
    public static (int Line, int Column) LineColumn(string text, int offset)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < offset && i < text.Length; i++)
            if (text[i] == '\n') { line++; lineStart = i + 1; }
        return (line, offset - lineStart + 1);
    }

    /// <summary>
    /// Renders <c>name:LINE:COL: error FLTnnnn: message</c>, the source line, and a caret line under the span.
    /// Control characters in the echoed line are shown as spaces so the caret stays aligned.
    /// </summary>
    public string Render(string text, string sourceName = "filter")
    {
        var (line, column) = LineColumn(text, Span.Start);
        int lineStart = Span.Start - (column - 1);
        int lineEnd = text.IndexOf('\n', Math.Min(lineStart, text.Length));
        if (lineEnd < 0) lineEnd = text.Length;
        string sourceLine = text[lineStart..lineEnd].TrimEnd('\r');
        int caretLength = Math.Max(1, Math.Min(Span.End, lineStart + sourceLine.Length) - Span.Start);
        string severity = Severity == Severity.Error ? "error" : "warning";
        return $"{sourceName}:{line}:{column}: {severity} {CodeText}: {Message}\n{Quote(sourceLine, column, caretLength)}";
    }

    /// <summary>
    /// The two lines under a message: the source line (control characters shown as spaces, so nothing in it
    /// can drive a terminal) and a caret under <paramref name="length"/> characters from <paramref name="column"/>.
    /// </summary>
    public static string Quote(string sourceLine, int column, int length)
    {
        var echoed = new StringBuilder(sourceLine.Length);
        foreach (char c in sourceLine) echoed.Append(char.IsControl(c) ? ' ' : c);
        return $"  {echoed}\n  {new string(' ', column - 1)}^{new string('~', Math.Max(1, length) - 1)}";
    }
}
