namespace Filter.Audit.Streaming;

/// <summary>
/// What a consumer of a stream sets on it (<see cref="LiveInput"/>, <see cref="FollowedFile"/>): what to do
/// before a read waits, how long without data is a quiet spell, and when to stop.
/// </summary>
public interface IStreamingInput
{
    /// <summary>Called before a read waits for data: a writer flushes what it has.</summary>
    Action? BeforeWait { get; set; }

    /// <summary>How long without data is a quiet spell (see <see cref="Formats.IQuietInput"/>); null: never.</summary>
    TimeSpan? QuietAfter { get; set; }

    /// <summary>When cancelled, reads end: a pipe's once the bytes already in it are read (bounded: what it holds), a followed file's at once.</summary>
    CancellationToken Stop { get; set; }
}
