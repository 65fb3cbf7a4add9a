using Xunit;

namespace Filter.Tests;

/// <summary>
/// "Allocates nothing per record", proved so that machine load cannot decide it: the bytes this thread
/// allocates over a round of work, up to three rounds. A cost per record shows in every round; a one-off
/// allocation by the runtime on this thread (tiering, a type load: seen under load average 30) in one.
/// </summary>
public static class Allocations
{
    public static void AssertNoneIn(Action round, string what) => AssertNoneIn(() =>
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        round();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }, what);

    /// <summary>The same, for a round that measures itself (to leave out its own set-up) and returns the bytes.</summary>
    public static void AssertNoneIn(Func<long> measuredRound, string what)
    {
        var rounds = new List<long>();
        do rounds.Add(measuredRound());
        while (rounds[^1] != 0 && rounds.Count < 3);
        Assert.True(rounds[^1] == 0, $"bytes allocated per round of {what}: {string.Join(", ", rounds)}");
    }
}
