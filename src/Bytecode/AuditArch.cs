namespace Filter.Bytecode;

/// <summary>
/// The architectures a record can come from, with their Linux <c>AUDIT_ARCH_*</c> values
/// (include/uapi/linux/audit.h): the value stored in the record's <c>arch</c> field.
/// </summary>
public static class AuditArch
{
    public const uint X86_64 = 0xC000003E;
    public const uint I386 = 0x40000003;
    public const uint Aarch64 = 0xC00000B7;

    /// <summary>The supported architectures by name, in a fixed order used by per-arch tables.</summary>
    public static readonly IReadOnlyList<(string Name, uint Value)> All =
    [
        ("x86_64", X86_64),
        ("i386", I386),
        ("aarch64", Aarch64),
    ];

    public static bool TryParse(ReadOnlySpan<char> name, out uint value)
    {
        foreach (var (n, v) in All)
            if (name.SequenceEqual(n)) { value = v; return true; }
        value = 0;
        return false;
    }

    public static string? NameOf(uint value)
    {
        foreach (var (n, v) in All)
            if (v == value) return n;
        return null;
    }
}
