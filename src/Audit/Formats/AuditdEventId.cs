namespace Filter.Audit.Formats;

/// <summary>
/// The id that ties an audit event's records together: <c>msg=audit(SECONDS.MILLIS:SERIAL)</c>. The kernel
/// gives every event a fresh serial; the timestamp is part of the id because serials restart at boot.
/// </summary>
public readonly record struct AuditdEventId(ulong Seconds, uint Millis, ulong Serial) : IComparable<AuditdEventId>
{
    /// <summary>Orders by time, then serial: the order in which the kernel issues ids.</summary>
    public int CompareTo(AuditdEventId other) =>
        Seconds != other.Seconds ? Seconds.CompareTo(other.Seconds)
        : Millis != other.Millis ? Millis.CompareTo(other.Millis)
        : Serial.CompareTo(other.Serial);

    /// <summary>The id as auditd writes it (milliseconds as three digits): <c>1795731042.524:565481</c>.</summary>
    public override string ToString() => $"{Seconds}.{Millis:D3}:{Serial}";
}
