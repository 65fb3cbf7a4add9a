using Filter.Compiler.Binding;

namespace Filter.Compiler.Analysis;

/// <summary>
/// Sets of 64-bit values as sorted, disjoint, non-adjacent inclusive ranges in unsigned order: the
/// arithmetic behind <see cref="SyscallSet"/> and the per-field reasoning of the analysis.
/// </summary>
internal static class RangeList
{
    public static readonly ValueRange[] Empty = [];

    /// <summary>Sorts and merges overlapping and adjacent ranges (<see cref="SetBuilder.Merge"/>).</summary>
    public static ValueRange[] Normalize(IEnumerable<ValueRange> ranges) => SetBuilder.Merge(ranges);

    public static ValueRange[] Intersect(IReadOnlyList<ValueRange> a, IReadOnlyList<ValueRange> b)
    {
        var result = new List<ValueRange>();
        int i = 0, j = 0;
        while (i < a.Count && j < b.Count)
        {
            ulong lo = Math.Max(a[i].Lo, b[j].Lo), hi = Math.Min(a[i].Hi, b[j].Hi);
            if (lo <= hi) result.Add(new ValueRange(lo, hi));
            if (a[i].Hi < b[j].Hi) i++; else j++;
        }
        return result.ToArray();
    }

    /// <summary>The values of [<paramref name="lo"/>, <paramref name="hi"/>] not in <paramref name="set"/>.</summary>
    public static ValueRange[] Complement(IReadOnlyList<ValueRange> set, ulong lo, ulong hi)
    {
        var result = new List<ValueRange>();
        ulong next = lo;
        bool done = false;
        for (int i = 0; i < set.Count; i++)
        {
            var r = set[i];
            if (r.Hi < lo || done) continue;
            if (r.Lo > hi) break;
            if (r.Lo > next) result.Add(new ValueRange(next, r.Lo - 1));
            if (r.Hi >= hi) { done = true; continue; }
            next = r.Hi + 1;
        }
        if (!done) result.Add(new ValueRange(next, hi));
        return result.ToArray();
    }

    public static bool Contains(IReadOnlyList<ValueRange> set, ulong value)
    {
        int lo = 0, hi = set.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (value < set[mid].Lo) hi = mid - 1;
            else if (value > set[mid].Hi) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /// <summary>
    /// The values, in unsigned order, of an interval given in a set's own order: a signed interval that
    /// crosses zero is two unsigned ranges.
    /// </summary>
    public static IEnumerable<ValueRange> FromOrdered(ulong lo, ulong hi, bool signed)
    {
        if (!signed || (lo ^ hi) >> 63 == 0) { yield return new ValueRange(lo, hi); yield break; }
        // lo is negative and hi non-negative: [lo, -1] and [0, hi].
        yield return new ValueRange(0, hi);
        yield return new ValueRange(lo, ulong.MaxValue);
    }

    /// <summary>A set constant's values in unsigned order.</summary>
    public static ValueRange[] FromSet(ValueSet set) =>
        Normalize(set.Ranges.SelectMany(r => FromOrdered(r.Lo, r.Hi, set.Signed)));
}
