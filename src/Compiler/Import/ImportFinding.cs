namespace Filter.Compiler.Import;

/// <summary>What an import finding says about a line of the rules file (spec/auditctl.md, "Importing").</summary>
public enum ImportIssue
{
    /// <summary>A control line (<c>-D</c>, <c>-b</c>, <c>-e</c>, ...): it sets no rule, nothing to import.</summary>
    Ignored,
    /// <summary>Translated exactly, but worth knowing (a value auditctl truncates, <c>-D</c> dropping earlier rules).</summary>
    Note,
    /// <summary>The rule cannot be expressed over our records: it is left out of the policy.</summary>
    Unsupported,
    /// <summary>The rule is translated, but the kernel may decide differently on some records.</summary>
    Inexact,
    /// <summary>auditctl or the kernel rejects the line: the rule is not loaded, so it is not imported.</summary>
    Invalid,
}

/// <summary>
/// One finding, positioned at the token it is about (1-based line and column). Whether it is an error
/// depends on <c>--strict</c>; <see cref="ToDiagnostic"/> gives the diagnostic it is printed as.
/// </summary>
public sealed record ImportFinding(string Source, int Line, int Column, int Length, ImportIssue Kind, string Message, string LineText)
{
    /// <summary>
    /// Invalid lines are errors; unsupported and inexact rules are warnings, errors with <c>--strict</c>;
    /// ignored control lines and notes are notes.
    /// </summary>
    public bool IsError(bool strict) => Kind == ImportIssue.Invalid || strict && Kind is ImportIssue.Unsupported or ImportIssue.Inexact;

    public Severity Severity(bool strict) => IsError(strict) ? Filter.Severity.Error : Kind is ImportIssue.Ignored or ImportIssue.Note ? Filter.Severity.Note : Filter.Severity.Warning;

    /// <summary>The finding as a diagnostic (FLT4001-4005, by kind), at its token, with the line for the caret.</summary>
    public Diagnostic ToDiagnostic(bool strict) =>
        new Diagnostic(Code(Kind), DiagnosticLocation.InputLine(Line, Column, Length), Message, Severity(strict)).In(Source, LineText);

    public static DiagnosticCode Code(ImportIssue kind) => kind switch
    {
        ImportIssue.Invalid => DiagnosticCode.ImportInvalid,
        ImportIssue.Unsupported => DiagnosticCode.ImportUnsupported,
        ImportIssue.Inexact => DiagnosticCode.ImportInexact,
        ImportIssue.Note => DiagnosticCode.ImportNote,
        ImportIssue.Ignored => DiagnosticCode.ImportIgnored,
    };
}
