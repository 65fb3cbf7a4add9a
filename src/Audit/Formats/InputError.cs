namespace Filter.Audit.Formats;

/// <summary>
/// The errors of record input, as the one diagnostic type: a line of a named input that cannot be read
/// (FLT3002: the reader has moved past it) or an input that cannot be read to its end (FLT3001: no lenient
/// reading may skip what is lost). Readers return them as data so a caller can stop at the first one or
/// report it and go on.
/// </summary>
public static class InputErrors
{
    public static Diagnostic Malformed(string source, long line, string message) =>
        new Diagnostic(DiagnosticCode.MalformedRecord, DiagnosticLocation.InputLine(line), message).In(source);

    public static Diagnostic Unreadable(string source, long line, string message) =>
        new Diagnostic(DiagnosticCode.CannotRead, DiagnosticLocation.InputLine(line), message).In(source);

    /// <summary>Whether <c>--lenient</c> may leave it out: a bad line, never an input lost from there on.</summary>
    public static bool IsSkippable(Diagnostic error) => error.Code == DiagnosticCode.MalformedRecord;

    /// <summary>The warning <c>--lenient</c> prints for a line it leaves out.</summary>
    public static Diagnostic Skipped(Diagnostic error) => error with { Severity = Severity.Warning, Message = error.Message + " (skipped)" };
}

/// <summary>What a record reader's <c>Read</c> produced.</summary>
public enum ReadResult
{
    /// <summary>A record was read into the builder.</summary>
    Record,
    /// <summary>The line was rejected; the reader has moved past it and can be read again.</summary>
    Error,
    /// <summary>The input is exhausted.</summary>
    End,
}
