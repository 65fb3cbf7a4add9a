using System.Collections.Immutable;

namespace Filter.Bytecode;

/// <summary>An inclusive range of 64-bit values, ordered as its set says (signed or unsigned).</summary>
public readonly record struct ValueRange(ulong Lo, ulong Hi);

/// <summary>
/// A set constant for <c>jin</c> and <c>jswitch</c>: sorted, disjoint inclusive ranges compared as signed or unsigned
/// 64-bit values. Membership is a binary search (or a bitmap lookup for small values in the engines).
/// </summary>
public sealed class ValueSet : IEquatable<ValueSet>
{
    public const ulong SignBit = 0x8000_0000_0000_0000;

    public bool Signed { get; }
    /// <summary>The ranges, copied at construction: a set never changes.</summary>
    public IReadOnlyList<ValueRange> Ranges { get; }
    private readonly ImmutableArray<ValueRange> _ranges;

    public ValueSet(bool signed, IEnumerable<ValueRange> ranges)
    {
        Signed = signed;
        _ranges = ranges.ToImmutableArray();
        Ranges = _ranges;
    }

    /// <summary>Maps a value to the unsigned order in which this set's ranges are sorted.</summary>
    public ulong Key(ulong value) => Signed ? value ^ SignBit : value;

    /// <summary>True if the ranges are each non-empty, sorted and disjoint in the set's order.</summary>
    public bool IsCanonical(out int badIndex)
    {
        for (int i = 0; i < _ranges.Length; i++)
        {
            if (Key(_ranges[i].Lo) > Key(_ranges[i].Hi) || (i > 0 && Key(_ranges[i].Lo) <= Key(_ranges[i - 1].Hi)))
            {
                badIndex = i;
                return false;
            }
        }
        badIndex = -1;
        return true;
    }

    /// <summary>Membership by binary search; requires a canonical set.</summary>
    public bool Contains(ulong value) => IndexOf(value) >= 0;

    /// <summary>The index of the range holding <paramref name="value"/> (a <c>jswitch</c>'s case), or -1; requires a canonical set.</summary>
    public int IndexOf(ulong value)
    {
        ulong k = Key(value);
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (k < Key(_ranges[mid].Lo)) hi = mid - 1;
            else if (k > Key(_ranges[mid].Hi)) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    public bool Equals(ValueSet? other) =>
        other is not null && Signed == other.Signed && _ranges.AsSpan().SequenceEqual(other._ranges.AsSpan());

    public override bool Equals(object? obj) => Equals(obj as ValueSet);
    public override int GetHashCode() => HashCode.Combine(Signed, _ranges.Length, _ranges.Length > 0 ? _ranges[0] : default);
}
