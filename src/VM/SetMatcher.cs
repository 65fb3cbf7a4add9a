using System.Runtime.CompilerServices;

namespace Filter.VM;

/// <summary>
/// Set membership as the engines run it: a bitmap when every member is a small non-negative value
/// (syscall numbers, errno values: the common case), else a binary search over the ranges.
/// </summary>
internal sealed class SetMatcher
{
    /// <summary>Bitmaps are used when all members are below this bound (a 512-byte bitmap at most).</summary>
    public const ulong BitmapLimit = 4096;

    public readonly ValueSet Set;
    /// <summary>Bit v is set iff v is a member; null when the set has members at or above the limit.</summary>
    public readonly ulong[]? Bitmap;
    private readonly ulong[] _lo, _hi; // range bounds mapped to unsigned order (Set.Key)

    public SetMatcher(ValueSet set)
    {
        Set = set;
        _lo = set.Ranges.Select(r => set.Key(r.Lo)).ToArray();
        _hi = set.Ranges.Select(r => set.Key(r.Hi)).ToArray();
        bool small = set.Ranges.All(r => r.Lo <= r.Hi && r.Hi < BitmapLimit && (!set.Signed || (long)r.Lo >= 0));
        if (small)
        {
            ulong max = set.Ranges.Count == 0 ? 0 : set.Ranges.Max(r => r.Hi);
            Bitmap = new ulong[max / 64 + 1];
            foreach (var r in set.Ranges)
                for (ulong v = r.Lo; v <= r.Hi; v++) Bitmap[v >> 6] |= 1UL << (int)(v & 63);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(ulong value)
    {
        if (Bitmap is { } bits)
        {
            ulong word = value >> 6;
            return word < (ulong)bits.Length && (bits[word] & (1UL << (int)(value & 63))) != 0;
        }
        return Search(value);
    }

    private bool Search(ulong value) => IndexOf(value) >= 0;

    /// <summary>The index of the range holding <paramref name="value"/>, or -1: a jswitch's case.</summary>
    public int IndexOf(ulong value)
    {
        ulong k = Set.Key(value);
        int lo = 0, hi = _lo.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (k < _lo[mid]) hi = mid - 1;
            else if (k > _hi[mid]) lo = mid + 1;
            else return mid;
        }
        return -1;
    }
}
