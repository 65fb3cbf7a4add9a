namespace Filter.Audit.Formats;

/// <summary>
/// An input that can be quiet without having ended: a pipe, a terminal, a log being followed. Its
/// <see cref="Stream.Read(Span{byte})"/> returns 0 either at the end, or, with <see cref="Quiet"/> true,
/// when nothing came for a while. An <see cref="AuditdReader"/> then takes every event it holds to be
/// complete (no more of their records are coming) and reads on; other readers read on.
/// </summary>
public interface IQuietInput
{
    /// <summary>Whether the last read returned 0 because the input was quiet, not because it ended.</summary>
    bool Quiet { get; }
}
