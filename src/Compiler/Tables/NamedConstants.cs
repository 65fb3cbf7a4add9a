namespace Filter.Compiler.Tables;

/// <summary>The group a named constant comes from.</summary>
public enum ConstantKind { Errno, Signal, OpenFlag, CloneFlag }

/// <summary>
/// The named integer constants of the filter language (EACCES, SIGKILL, O_CREAT, CLONE_THREAD, ...),
/// over the tables generated from the kernel's UAPI headers (<see cref="ConstantData"/>). Every
/// value is the same on all supported architectures; names are unique across groups.
/// </summary>
public static class NamedConstants
{
    // Plain dictionaries, the reverse one built on first use: every filterc run builds the first at start-up,
    // where frozen ones cost more to build than their lookups save.
    private static readonly Dictionary<string, (ulong Value, ConstantKind Kind)> ByName =
        ConstantData.Errno.Select(c => (c.Name, c.Value, Kind: ConstantKind.Errno))
            .Concat(ConstantData.Signals.Select(c => (c.Name, c.Value, Kind: ConstantKind.Signal)))
            .Concat(ConstantData.OpenFlags.Select(c => (c.Name, c.Value, Kind: ConstantKind.OpenFlag)))
            .Concat(ConstantData.CloneFlags.Select(c => (c.Name, c.Value, Kind: ConstantKind.CloneFlag)))
            .ToDictionary(c => c.Name, c => (c.Value, c.Kind), StringComparer.Ordinal);

    // Value to name, per group: of several names for one value, the alphabetically first (EAGAIN, not EWOULDBLOCK).
    private static readonly Lazy<Dictionary<(ConstantKind, ulong), string>> ByValue = new(() =>
        ByName.OrderBy(c => c.Key, StringComparer.Ordinal)
            .GroupBy(c => (c.Value.Kind, c.Value.Value))
            .ToDictionary(g => g.Key, g => g.First().Key));

    /// <summary>The name of an errno or signal number (13 → EACCES, 11 → SIGSEGV); null if it has none.</summary>
    public static string? NameOf(ConstantKind kind, ulong value) => ByValue.Value.GetValueOrDefault((kind, value));

    /// <summary>Every constant name (for "did you mean" hints).</summary>
    public static IReadOnlyCollection<string> AllNames { get; } = ByName.Keys;

    /// <summary>The value and group of constant <paramref name="name"/>; false if there is none.</summary>
    public static bool TryGet(string name, out ulong value, out ConstantKind kind)
    {
        bool found = ByName.TryGetValue(name, out var c);
        (value, kind) = c;
        return found;
    }
}
