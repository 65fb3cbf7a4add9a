using System.Globalization;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Analysis;

/// <summary>
/// An immutable set of syscall numbers: values of the 32-bit <c>syscall</c> field, as sorted, disjoint
/// inclusive ranges. It may hold numbers no syscall table assigns (<c>syscall &gt; 1000</c>);
/// <see cref="IsAll"/> is the unconstrained set, every value 0..4294967295.
/// </summary>
public sealed class SyscallSet : IEquatable<SyscallSet>
{
    public const ulong MaxNumber = uint.MaxValue;

    private readonly ValueRange[] _ranges;

    private SyscallSet(ValueRange[] ranges) => _ranges = ranges;

    public static SyscallSet Empty { get; } = new([]);
    public static SyscallSet All { get; } = new([new ValueRange(0, MaxNumber)]);

    /// <summary>The set of these ranges (unsigned, in any order, overlapping or not), clipped to 0..4294967295.</summary>
    public static SyscallSet Of(IEnumerable<ValueRange> ranges)
    {
        var clipped = new List<ValueRange>();
        foreach (var r in ranges)
            if (r.Lo <= MaxNumber && r.Lo <= r.Hi) clipped.Add(new ValueRange(r.Lo, Math.Min(r.Hi, MaxNumber)));
        return new(RangeList.Normalize(clipped));
    }

    public static SyscallSet Of(params uint[] numbers) => Of(numbers.Select(n => new ValueRange(n, n)));

    /// <summary>Sorted, disjoint, non-adjacent ranges.</summary>
    public IReadOnlyList<ValueRange> Ranges => _ranges;

    public bool IsEmpty => _ranges.Length == 0;
    public bool IsAll => _ranges is [{ Lo: 0, Hi: MaxNumber }];

    /// <summary>How many numbers the set holds.</summary>
    public ulong Count => _ranges.Aggregate(0UL, (sum, r) => sum + (r.Hi - r.Lo + 1));

    public bool Contains(ulong number) => RangeList.Contains(_ranges, number);

    // Most operands of a rule's analysis are every number or none: those need no range arithmetic.
    public SyscallSet Union(SyscallSet other) =>
        other.IsEmpty || IsAll ? this : IsEmpty || other.IsAll ? other : new(RangeList.Normalize(_ranges.Concat(other._ranges)));

    public SyscallSet Intersect(SyscallSet other) =>
        other.IsAll || IsEmpty ? this : IsAll || other.IsEmpty ? other : new(RangeList.Intersect(_ranges, other._ranges));

    public SyscallSet Complement() => IsAll ? Empty : IsEmpty ? All : new(RangeList.Complement(_ranges, 0, MaxNumber));

    public bool IsSubsetOf(SyscallSet other) => Intersect(other).Equals(this);

    /// <summary>The numbers in ascending order (beware of large sets: check <see cref="Count"/>).</summary>
    public IEnumerable<uint> Numbers()
    {
        foreach (var r in _ranges)
            for (ulong n = r.Lo; ; n++)
            {
                yield return (uint)n;
                if (n == r.Hi) break;
            }
    }

    /// <summary>The set as a <c>jin</c> constant (unsigned), or null when empty.</summary>
    public ValueSet? ToValueSet() => IsEmpty ? null : new ValueSet(false, _ranges);

    /// <summary>The syscall names of <paramref name="auditArch"/> whose numbers are in the set, by number.</summary>
    public IEnumerable<string> Names(uint auditArch) =>
        Syscalls.ForArch(auditArch).Where(s => Contains((ulong)s.Number)).Select(s => s.Name);

    public bool Equals(SyscallSet? other) => other is not null && _ranges.AsSpan().SequenceEqual(other._ranges);
    public override bool Equals(object? obj) => Equals(obj as SyscallSet);
    public override int GetHashCode() => HashCode.Combine(_ranges.Length, _ranges.Length > 0 ? _ranges[0] : default);

    /// <summary><c>all</c>, <c>none</c>, or ranges such as <c>2, 56..59</c>.</summary>
    public override string ToString() =>
        IsAll ? "all" : IsEmpty ? "none"
        : string.Join(", ", _ranges.Select(r => r.Lo == r.Hi
            ? r.Lo.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{r.Lo}..{r.Hi}")));
}

/// <summary>
/// Syscall numbers per arch: one <see cref="SyscallSet"/> for each arch in <see cref="AuditArch.All"/> and
/// one for records of any other arch value (where only numbers, never names, can match).
/// </summary>
public sealed class SyscallSets : IEquatable<SyscallSets>
{
    public SyscallSets(IReadOnlyList<SyscallSet> perArch, SyscallSet otherArch)
    {
        if (perArch.Count != AuditArch.All.Count) throw new ArgumentException($"need one set per arch ({AuditArch.All.Count})", nameof(perArch));
        PerArch = perArch;
        OtherArch = otherArch;
    }

    public static SyscallSets None { get; } = new(AuditArch.All.Select(_ => SyscallSet.Empty).ToList(), SyscallSet.Empty);
    public static SyscallSets All { get; } = new(AuditArch.All.Select(_ => SyscallSet.All).ToList(), SyscallSet.All);

    /// <summary>Indexed like <see cref="AuditArch.All"/>.</summary>
    public IReadOnlyList<SyscallSet> PerArch { get; }

    /// <summary>For a record whose arch is none of <see cref="AuditArch.All"/>.</summary>
    public SyscallSet OtherArch { get; }

    /// <summary>The set for records of arch <paramref name="auditArch"/> (an <c>AUDIT_ARCH_*</c> value).</summary>
    public SyscallSet ForArch(uint auditArch)
    {
        for (int i = 0; i < AuditArch.All.Count; i++)
            if (AuditArch.All[i].Value == auditArch) return PerArch[i];
        return OtherArch;
    }

    /// <summary>True when no arch constrains the syscall number at all.</summary>
    public bool IsUnconstrained => OtherArch.IsAll && PerArch.All(s => s.IsAll);

    public bool IsEmpty => OtherArch.IsEmpty && PerArch.All(s => s.IsEmpty);

    public SyscallSets Union(SyscallSets other) =>
        new(PerArch.Zip(other.PerArch, (a, b) => a.Union(b)).ToList(), OtherArch.Union(other.OtherArch));

    public bool Equals(SyscallSets? other) =>
        other is not null && OtherArch.Equals(other.OtherArch) && PerArch.SequenceEqual(other.PerArch);
    public override bool Equals(object? obj) => Equals(obj as SyscallSets);
    public override int GetHashCode() => HashCode.Combine(OtherArch, PerArch[0]);

    public override string ToString() =>
        string.Join("; ", AuditArch.All.Select((a, i) => $"{a.Name}: {PerArch[i]}").Append($"other: {OtherArch}"));
}
