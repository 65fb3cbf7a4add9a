namespace Filter.Audit.Formats;

/// <summary>
/// A problem with record input: where it is (source name and 1-based line) and what is wrong. Readers
/// return it as data so a caller can stop at the first one or report it and go on.
/// <paramref name="Kind"/> tells a bad line, which can be left out, from an input that cannot be read to
/// its end (lost data: no "lenient" reading may skip it).
/// </summary>
public readonly record struct InputError(string Source, long Line, string Message, InputErrorKind Kind = InputErrorKind.Malformed)
{
    /// <summary>Renders <c>source:line: error: message</c>, the shape compilers use, so editors can jump to it.</summary>
    public override string ToString() => $"{Source}:{Line}: error: {Message}";
}

public enum InputErrorKind
{
    /// <summary>One line is wrong (shape, a field, its length); the reader has moved past it.</summary>
    Malformed,
    /// <summary>
    /// An input could not be opened, or could not be read to its end (an I/O error; compressed data that
    /// is truncated or damaged): what follows in it is lost.
    /// </summary>
    Unreadable,
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
