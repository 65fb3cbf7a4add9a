namespace Filter.VM;

/// <summary>
/// When a <c>jswitch</c> runs as a table of one target per value, as the interpreter's <c>SwitchTable</c> steps
/// and the JIT's IL <c>switch</c> do: when every case is a small non-negative value (syscall numbers), the
/// same bound as <see cref="SetMatcher.BitmapLimit"/>, so that a table holds at most 4,096 entries.
/// </summary>
internal static class SwitchTable
{
    public static bool Fits(ValueSet set) =>
        set.Ranges.Count > 0 && set.Ranges.All(r => r.Lo <= r.Hi && r.Hi < SetMatcher.BitmapLimit && (!set.Signed || (long)r.Lo >= 0));

    /// <summary>Entries of the table: one per value from 0 to the largest case.</summary>
    public static int Length(ValueSet set) => (int)set.Ranges[^1].Hi + 1;
}
