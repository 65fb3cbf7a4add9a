namespace Filter.Audit.Ids;

/// <summary>
/// Settings of the IDS (spec/ids.md). The defaults suit a host with a few super-servers; every bound keeps
/// the memory of the state machine fixed whatever the input.
/// </summary>
public sealed record IdsOptions
{
    /// <summary>The default <see cref="Window"/>.</summary>
    public const int DefaultWindow = 64;

    /// <summary>
    /// N: an alert is raised when a served process dies of SIGSEGV at most N system calls (seen by the IDS)
    /// after its last receive. 0 means "the receive was its last system call".
    /// </summary>
    public int Window { get; init; } = DefaultWindow;

    /// <summary>At most this many processes are tracked; the least recently seen one is dropped to make room.</summary>
    public int MaxProcesses { get; init; } = 4096;

    /// <summary>
    /// A tracked process not seen for this long (in the records' time, milliseconds) is dropped: its pid
    /// may have been reused by a process we never saw start. 0 disables expiry by time.
    /// </summary>
    public long IdleTimeoutMs { get; init; } = 10 * 60 * 1000;

    /// <summary>
    /// Executable base names of super-servers: a process running one of them starts services. Matched on
    /// the last path component of the record's <c>exe</c>.
    /// </summary>
    public IReadOnlyList<string> ServerNames { get; init; } = ["inetd", "xinetd"];

    /// <summary>A process that accepted a connection and then forks is a super-server too (on by default).</summary>
    public bool AcceptThenFork { get; init; } = true;

    /// <summary>
    /// A filter expression selecting processes whose every system call passes the pre-filter (and so
    /// counts toward the distance exactly); null passes only the calls the state machine needs. See
    /// spec/ids.md, "The distance n".
    /// </summary>
    public string? Scope { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a setting outside its range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(Window, nameof(Window));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Window, 1_000_000, nameof(Window));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxProcesses, 2, nameof(MaxProcesses));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxProcesses, 1 << 22, nameof(MaxProcesses));
        ArgumentOutOfRangeException.ThrowIfNegative(IdleTimeoutMs, nameof(IdleTimeoutMs));
        ArgumentNullException.ThrowIfNull(ServerNames, nameof(ServerNames));
    }
}
