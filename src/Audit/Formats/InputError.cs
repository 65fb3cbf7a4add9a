namespace Filter.Audit.Formats;

/// <summary>
/// A problem with one line of record input: where it is (source name and 1-based line) and what is wrong.
/// Readers return it as data so a caller can stop at the first one or report it and go on.
/// </summary>
public readonly record struct InputError(string Source, long Line, string Message)
{
    /// <summary>Renders <c>source:line: error: message</c>, the shape compilers use, so editors can jump to it.</summary>
    public override string ToString() => $"{Source}:{Line}: error: {Message}";
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
