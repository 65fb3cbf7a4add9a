
namespace Filter.Compiler.Binding;

/// <summary>Turns a list of values and ranges into a canonical set: sorted, overlapping and adjacent ranges merged.</summary>
public static class SetBuilder
{
    /// <summary>The canonical set, or null when there are no elements.</summary>
    public static ValueSet? Build(IEnumerable<ValueRange> ranges, bool signed)
    {
        ulong bias = signed ? ValueSet.SignBit : 0;
        // In the set's order (signed: the sign bit flipped), sorted by start, then merged in place: one array
        // (a policy's sets are built by the hundred, most of them a name or two).
        var items = ranges.ToArray();
        if (items.Length == 0) return null;
        bool inOrder = true;
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = new ValueRange(items[i].Lo ^ bias, items[i].Hi ^ bias);
            inOrder &= i == 0 || items[i - 1].Lo <= items[i].Lo;
        }
        if (!inOrder) Array.Sort(items, static (x, y) => x.Lo.CompareTo(y.Lo));
        int kept = 0;
        var (lo, hi) = (items[0].Lo, items[0].Hi);
        for (int i = 1; i < items.Length; i++)
        {
            var r = items[i];
            if (hi == ulong.MaxValue || r.Lo <= hi + 1) hi = Math.Max(hi, r.Hi);
            else
            {
                items[kept++] = new ValueRange(lo ^ bias, hi ^ bias);
                (lo, hi) = (r.Lo, r.Hi);
            }
        }
        items[kept++] = new ValueRange(lo ^ bias, hi ^ bias);
        return new ValueSet(signed, kept == items.Length ? items : items[..kept]);
    }
}
