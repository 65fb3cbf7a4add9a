namespace Filter.Compiler.Import;

/// <summary>What an import diagnostic says about a line of the rules file (spec/auditctl.md, "Importing").</summary>
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

/// <summary>One finding, positioned at the token it is about (1-based line and column).</summary>
public sealed record ImportDiagnostic(string Source, int Line, int Column, int Length, ImportIssue Kind, string Message, string LineText)
{
    /// <summary>
    /// Invalid lines are errors; unsupported and inexact rules are warnings, errors with <c>--strict</c>;
    /// ignored control lines and notes are notes.
    /// </summary>
    public bool IsError(bool strict) => Kind == ImportIssue.Invalid || strict && Kind is ImportIssue.Unsupported or ImportIssue.Inexact;

    public string SeverityText(bool strict) => IsError(strict) ? "error" : Kind is ImportIssue.Ignored or ImportIssue.Note ? "note" : "warning";

    /// <summary><c>file:line:col: severity: message</c>, the line, and a caret line under the token.</summary>
    public string Render(bool strict)
    {
        int length = Math.Min(Length, LineText.Length - (Column - 1));
        return $"{Source}:{Line}:{Column}: {SeverityText(strict)}: {Message}\n{Diagnostic.Quote(LineText, Column, length)}";
    }
}
