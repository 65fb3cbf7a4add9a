namespace Filter.Audit.Formats;

/// <summary>
/// One input of an <see cref="AuditdReader"/>: the name errors give for it and how to open it. The reader
/// opens sources one at a time, in order, when it reaches them, and disposes each stream when done with
/// it unless <paramref name="LeaveOpen"/>.
/// </summary>
public sealed record AuditdSource(string Name, Func<Stream> Open, bool LeaveOpen = false)
{
    /// <summary>A file, gzip-compressed or not (<see cref="AuditdInput.Open"/>).</summary>
    public static AuditdSource File(string path) => new(path, () => AuditdInput.Open(path));

    /// <summary>An already open stream, used as is and left open.</summary>
    public static AuditdSource Stream(Stream input, string name) => new(name, () => input, LeaveOpen: true);
}
