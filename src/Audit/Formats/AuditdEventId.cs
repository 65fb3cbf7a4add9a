namespace Filter.Audit.Formats;

/// <summary>
/// The id that ties an audit event's records together: <c>msg=audit(SECONDS.MILLIS:SERIAL)</c>. The kernel
/// gives every event a fresh serial; the timestamp is part of the id because serials restart at boot.
/// </summary>
public readonly record struct AuditdEventId(ulong Seconds, uint Millis, ulong Serial)
{
    /// <summary>The id as auditd writes it (milliseconds as three digits): <c>1795731042.524:565481</c>.</summary>
    public override string ToString() => $"{Seconds}.{Millis:D3}:{Serial}";
}
