
namespace Filter.Compiler.Binding;

/// <summary>Turns a list of values and ranges into a canonical set: sorted, overlapping and adjacent ranges merged.</summary>
public static class SetBuilder
{
    /// <summary>The canonical set, or null when there are no elements.</summary>
    public static ValueSet? Build(IEnumerable<ValueRange> ranges, bool signed)
    {
        ulong bias = signed ? ValueSet.SignBit : 0;
        // Merged in the set's order (signed: the sign bit flipped), which is unsigned.
        var merged = Merge(signed ? ranges.Select(r => new ValueRange(r.Lo ^ bias, r.Hi ^ bias)) : ranges);
        if (merged.Length == 0) return null;
        if (signed)
            for (int i = 0; i < merged.Length; i++) merged[i] = new ValueRange(merged[i].Lo ^ bias, merged[i].Hi ^ bias);
        return new ValueSet(signed, merged);
    }

    /// <summary>
    /// Unsigned ranges sorted by their start and merged where they overlap or touch: a new array, in one (a
    /// policy's sets are built by the hundred, most of a name or two, and the analysis merges as many).
    /// </summary>
    internal static ValueRange[] Merge(IEnumerable<ValueRange> ranges)
    {
        var sorted = ranges.ToArray();
        bool inOrder = true;
        for (int i = 1; i < sorted.Length && inOrder; i++) inOrder = sorted[i - 1].Lo <= sorted[i].Lo;
        if (!inOrder) Array.Sort(sorted, static (x, y) => x.Lo.CompareTo(y.Lo));
        // Merged in place: the ranges kept so far are never ahead of the one read.
        int kept = 0;
        for (int i = 0; i < sorted.Length; i++)
        {
            var r = sorted[i];
            if (kept > 0 && (sorted[kept - 1].Hi == ulong.MaxValue || r.Lo <= sorted[kept - 1].Hi + 1))
                sorted[kept - 1] = new ValueRange(sorted[kept - 1].Lo, Math.Max(sorted[kept - 1].Hi, r.Hi));
            else sorted[kept++] = r;
        }
        return kept == sorted.Length ? sorted : sorted[..kept];
    }
}
