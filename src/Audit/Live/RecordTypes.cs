namespace Filter.Audit.Live;

/// <summary>
/// Audit record types: the netlink message type of a record is its type number (include/uapi/linux/audit.h);
/// auditd writes it as a name (<c>type=SYSCALL</c>), or <c>UNKNOWN[n]</c> for a number it has no name for.
/// The names are libaudit's (RecordTypes.Generated.cs).
/// </summary>
public static partial class RecordTypes
{
    public const ushort Syscall = 1300, Path = 1302, ConfigChange = 1305, Cwd = 1307, Execve = 1309, Eoe = 1320,
        Proctitle = 1327, EventListener = 1335, AnomAbend = 1701;

    /// <summary>Kernel and user-space record types are 1100..2999; below are the control messages (AUDIT_GET, ...).</summary>
    public const ushort FirstRecordType = 1100;

    // Plain dictionaries: a few lookups per event at most, and frozen ones cost more to build at start-up.
    private static readonly Dictionary<ushort, string> Names = Table.ToDictionary(t => t.Type, t => t.Name);
    private static readonly Dictionary<string, ushort> Numbers = Table.ToDictionary(t => t.Name, t => t.Type, StringComparer.Ordinal);
    private static readonly Dictionary<string, ushort>.AlternateLookup<ReadOnlySpan<char>> NumbersByChars =
        Numbers.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The name auditd writes for <paramref name="type"/>: <c>SYSCALL</c>, ..., or <c>UNKNOWN[n]</c>.</summary>
    public static string NameOf(ushort type) => Names.TryGetValue(type, out var name) ? name : $"UNKNOWN[{type}]";

    /// <summary>The number of a record type name (<c>SYSCALL</c> → 1300).</summary>
    public static bool TryParse(string name, out ushort type) => Numbers.TryGetValue(name, out type);

    /// <summary>The number of a record type name given as ASCII bytes (<c>type=</c>'s value in a log).</summary>
    public static bool TryParse(ReadOnlySpan<byte> name, out ushort type)
    {
        type = 0;
        if (name.Length > 64) return false;
        Span<char> chars = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++) chars[i] = (char)name[i];
        return NumbersByChars.TryGetValue(chars, out type);
    }
}
