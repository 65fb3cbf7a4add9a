namespace Filter.Audit.Formats;

/// <summary>
/// The id that ties an audit event's records together: <c>msg=audit(SECONDS.MILLIS:SERIAL)</c>. The kernel
/// gives every event a fresh serial; the timestamp is part of the id because serials restart at boot.
/// </summary>
public readonly record struct AuditdEventId(ulong Seconds, uint Millis, ulong Serial) : IComparable<AuditdEventId>
{
    /// <summary>
    /// The latest second an id may name: its time in Unix milliseconds, the timestamp of the record the
    /// pipeline commits, must fit in a <see cref="long"/>. (The kernel writes the time as
    /// <c>%llu.%03lu</c>, milliseconds 000..999; a time past this is a damaged or forged line.)
    /// </summary>
    public const ulong MaxSeconds = long.MaxValue / 1000 - 1;

    /// <summary>An id read from text; false when its time is out of range (milliseconds past 999, seconds past <see cref="MaxSeconds"/>).</summary>
    public static bool TryCreate(ulong seconds, ulong millis, ulong serial, out AuditdEventId id)
    {
        bool inRange = seconds <= MaxSeconds && millis <= 999;
        id = inRange ? new AuditdEventId(seconds, (uint)millis, serial) : default;
        return inRange;
    }

    /// <summary>
    /// The time in Unix milliseconds. Exact for every id the readers make (<see cref="TryCreate"/>); an id
    /// built by hand past the range saturates at <see cref="long.MaxValue"/> rather than throw.
    /// </summary>
    public long UnixMilliseconds => Seconds <= MaxSeconds ? (long)Seconds * 1000 + Math.Min(Millis, 999u) : long.MaxValue;

    /// <summary>Orders by time, then serial: the order in which the kernel issues ids.</summary>
    public int CompareTo(AuditdEventId other) =>
        Seconds != other.Seconds ? Seconds.CompareTo(other.Seconds)
        : Millis != other.Millis ? Millis.CompareTo(other.Millis)
        : Serial.CompareTo(other.Serial);

    /// <summary>The id as auditd writes it (milliseconds as three digits): <c>1795731042.524:565481</c>.</summary>
    public override string ToString() => $"{Seconds}.{Millis:D3}:{Serial}";
}
