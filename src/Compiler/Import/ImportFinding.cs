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
    /// <summary>Translated as the host answers (a user or group name, what a watched path is): another machine may differ.</summary>
    Host,
}

/// <summary>
/// Why a rule may decide differently from the kernel, for an <see cref="ImportIssue.Inexact"/> finding (and the
/// host-specific ones that change what is loaded): what the kernel-truth tests attribute each disagreement to.
/// </summary>
public enum ImportCause
{
    None,
    /// <summary><c>gid=</c>/<c>egid=</c> also match supplementary groups, which the log does not show.</summary>
    SupplementaryGroups,
    /// <summary>A watch or tree matched by the names the log gives; the kernel matches inodes.</summary>
    ByName,
    /// <summary>A word in quotes: auditctl keeps the quotes (and refuses the line); imported as meant.</summary>
    Quoted,
    /// <summary>A common mistake (<c>-k -F KEY</c>, <c>-F -k KEY</c>) auditctl rejects; imported as the rule meant.</summary>
    Mistake,
    /// <summary>A key the policy language cannot hold as it is (a control character): imported changed.</summary>
    KeyText,
    /// <summary>The host's kernel refuses the rule (a missing directory, ENOENT); the policy keeps it.</summary>
    HostRefuses,
}

/// <summary>
/// One finding, positioned at the token it is about (1-based line and column). Whether it is an error
/// depends on <c>--strict</c>; <see cref="ToDiagnostic"/> gives the diagnostic it is printed as.
/// </summary>
public sealed record ImportFinding(string Source, int Line, int Column, int Length, ImportIssue Kind, string Message, string LineText)
{
    /// <summary>Why the rule may decide differently from the kernel (inexact and host findings).</summary>
    public ImportCause Cause { get; init; }

    /// <summary>An invalid line skipped because of <c>-i</c> (<see cref="ImportOptions.IgnoreErrors"/>), as auditctl skips it.</summary>
    public bool CarriedOn { get; init; }

    /// <summary>
    /// Invalid lines are errors (warnings when carried on past, as <c>auditctl -i</c> does); unsupported and
    /// inexact rules are warnings; with <c>--strict</c> all three are errors; control lines, notes and host
    /// facts are notes.
    /// </summary>
    public bool IsError(bool strict) => Kind == ImportIssue.Invalid && (!CarriedOn || strict) || strict && Kind is ImportIssue.Unsupported or ImportIssue.Inexact;

    public Severity Severity(bool strict) => IsError(strict) ? Filter.Severity.Error
        : Kind is ImportIssue.Ignored or ImportIssue.Note or ImportIssue.Host ? Filter.Severity.Note : Filter.Severity.Warning;

    /// <summary>The finding as a diagnostic (FLT4001-4006, by kind), at its token, with the line for the caret.</summary>
    public Diagnostic ToDiagnostic(bool strict) =>
        new Diagnostic(Code(Kind), DiagnosticLocation.InputLine(Line, Column, Length), Message, Severity(strict)).In(Source, LineText);

    public static DiagnosticCode Code(ImportIssue kind) => kind switch
    {
        ImportIssue.Invalid => DiagnosticCode.ImportInvalid,
        ImportIssue.Unsupported => DiagnosticCode.ImportUnsupported,
        ImportIssue.Inexact => DiagnosticCode.ImportInexact,
        ImportIssue.Note => DiagnosticCode.ImportNote,
        ImportIssue.Ignored => DiagnosticCode.ImportIgnored,
        ImportIssue.Host => DiagnosticCode.ImportHost,
    };
}
