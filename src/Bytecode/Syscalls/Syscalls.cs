using System.Collections.Frozen;

namespace Filter.Bytecode;

/// <summary>
/// Syscall names and numbers per architecture, over the tables generated from the kernel's
/// syscall tables (<see cref="SyscallData"/>). A name means different numbers on different
/// architectures, so every lookup takes the record's <c>AUDIT_ARCH_*</c> value.
/// </summary>
public static class Syscalls
{
    private sealed class ArchTable((string Name, int Number)[] entries)
    {
        // A read-only view: callers of ForArch must not be able to cast back and edit the data.
        public IReadOnlyList<(string Name, int Number)> Entries { get; } = Array.AsReadOnly(entries);
        // Plain dictionaries: they are read a few times per compilation, and building frozen ones was a
        // twelfth of filterc's start-up (NativeAOT).
        public Dictionary<string, int> Numbers { get; } = entries.ToDictionary(e => e.Name, e => e.Number, StringComparer.Ordinal);
        public Dictionary<int, string> Names { get; } = entries.ToDictionary(e => e.Number, e => e.Name);
    }

    private static readonly Dictionary<uint, ArchTable> Tables = new()
    {
        [AuditArch.X86_64] = new(SyscallData.X86_64),
        [AuditArch.I386] = new(SyscallData.I386),
        [AuditArch.Aarch64] = new(SyscallData.Aarch64),
    };

    private static readonly Lazy<IReadOnlyCollection<string>> AllNamesOnce =
        new(() => Tables.Values.SelectMany(t => t.Numbers.Keys).ToFrozenSet(StringComparer.Ordinal));

    /// <summary>Every syscall name of at least one supported architecture (for "did you mean" hints).</summary>
    public static IReadOnlyCollection<string> AllNames => AllNamesOnce.Value;

    /// <summary>The number of syscall <paramref name="name"/> on <paramref name="auditArch"/>; false if that architecture has no such syscall (or is not supported).</summary>
    public static bool TryGetNumber(uint auditArch, string name, out int number)
    {
        number = 0;
        return Tables.TryGetValue(auditArch, out var table) && table.Numbers.TryGetValue(name, out number);
    }

    /// <summary>The name of syscall <paramref name="number"/> on <paramref name="auditArch"/>, or null if unassigned or the architecture is not supported.</summary>
    public static string? NameOf(uint auditArch, int number) =>
        Tables.TryGetValue(auditArch, out var table) && table.Names.TryGetValue(number, out var name) ? name : null;

    /// <summary>Whether <paramref name="name"/> is a syscall on at least one supported architecture.</summary>
    public static bool IsKnown(string name)
    {
        foreach (var table in Tables.Values)
            if (table.Numbers.ContainsKey(name)) return true;
        return false;
    }

    /// <summary>The syscalls of <paramref name="auditArch"/> sorted by number; empty for an unsupported architecture.</summary>
    public static IReadOnlyList<(string Name, int Number)> ForArch(uint auditArch) =>
        Tables.TryGetValue(auditArch, out var table) ? table.Entries : [];
}
