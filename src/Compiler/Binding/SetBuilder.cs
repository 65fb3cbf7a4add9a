
namespace Filter.Compiler.Binding;

/// <summary>Turns a list of values and ranges into a canonical set: sorted, overlapping and adjacent ranges merged.</summary>
public static class SetBuilder
{
    /// <summary>The canonical set, or null when there are no elements.</summary>
    public static ValueSet? Build(IEnumerable<ValueRange> ranges, bool signed)
    {
        ulong bias = signed ? ValueSet.SignBit : 0;
        var sorted = ranges.Select(r => (Lo: r.Lo ^ bias, Hi: r.Hi ^ bias)).OrderBy(r => r.Lo).ToList();
        if (sorted.Count == 0) return null;
        var merged = new List<ValueRange>();
        var (lo, hi) = sorted[0];
        foreach (var r in sorted.Skip(1))
        {
            if (hi == ulong.MaxValue || r.Lo <= hi + 1) hi = Math.Max(hi, r.Hi);
            else
            {
                merged.Add(new ValueRange(lo ^ bias, hi ^ bias));
                (lo, hi) = r;
            }
        }
        merged.Add(new ValueRange(lo ^ bias, hi ^ bias));
        return new ValueSet(signed, merged);
    }
}
