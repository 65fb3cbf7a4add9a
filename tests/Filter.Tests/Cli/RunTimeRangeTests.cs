using System.Text;
using Filter.Tests.Auditd;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>
/// <c>filterc run --start/--end</c> with ausearch's forms (spec/tools.md), on a fixed clock: Monday 2026-12-07
/// 15:30:45.600 UTC in a zone two hours ahead (17:30:45 local), never the wall clock.
/// </summary>
public class RunTimeRangeTests
{
    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 7, 15, 30, 45, 600, TimeSpan.Zero);

        public override TimeZoneInfo LocalTimeZone { get; } = TimeZoneInfo.CreateCustomTimeZone("UTC+2", TimeSpan.FromHours(2), "UTC+2", "UTC+2");
    }

    private static long Utc(int y, int mo, int d, int h, int mi, int s) => new DateTimeOffset(y, mo, d, h, mi, s, TimeSpan.Zero).ToUnixTimeSeconds();

    private static (int Code, string Out, string Err) Run(string log, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(["run", "--format", "auditd", "--keys", "--filter", "true", .. args, "-"],
            () => new MemoryStream(Encoding.UTF8.GetBytes(log)), stdout, stderr, clock: new FixedClock());
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    /// <summary>Three events, serials 1-3, at <paramref name="t"/> - 1 (its .999), <paramref name="t"/> (.000) and <paramref name="t"/> + 1.</summary>
    private static string Around(long t) => string.Concat(new[] { (t - 1, "999", 1), (t, "000", 2), (t + 1, "000", 3) }.Select(e =>
        $"type=SYSCALL msg=audit({e.Item1}.{e.Item2}:{e.Item3}): {KernelText.Syscall("arch=c000003e syscall=0 success=yes exit=0")}\n"));

    public static TheoryData<string, long> Starts => new()
    {
        { "now", Utc(2026, 12, 7, 15, 30, 45) },
        { "recent", Utc(2026, 12, 7, 15, 20, 45) },
        { "today", Utc(2026, 12, 6, 22, 0, 0) },               // local midnight
        { "today 09:15", Utc(2026, 12, 7, 7, 15, 0) },
        { "yesterday", Utc(2026, 12, 5, 22, 0, 0) },
        { "this-week", Utc(2026, 12, 5, 22, 0, 0) },           // Sunday 2026-12-06, local midnight
        { "week-ago", Utc(2026, 11, 29, 22, 0, 0) },
        { "this-month", Utc(2026, 11, 30, 22, 0, 0) },
        { "this-year", Utc(2025, 12, 31, 22, 0, 0) },
        { "12/06/2026 10:00", Utc(2026, 12, 6, 8, 0, 0) },
        { "12/06/26 10:00:30", Utc(2026, 12, 6, 8, 0, 30) },
        { "2026-12-06", Utc(2026, 12, 5, 22, 0, 0) },
        { "2026-12-06T10:00:00", Utc(2026, 12, 6, 8, 0, 0) },
        { "2026-12-06T10:00:00Z", Utc(2026, 12, 6, 10, 0, 0) },
        { "2026-12-06T10:00:00+05:00", Utc(2026, 12, 6, 5, 0, 0) },
    };

    [Theory]
    [MemberData(nameof(Starts))]
    public void StartSelectsEventsAtOrAfterItsSecond(string start, long t)
    {
        var (code, output, err) = Run(Around(t), "--start", start);
        Assert.True(code == 0, err);
        Assert.Equal("2\t\n3\t\n", output);
    }

    public static TheoryData<string, long> Ends => new()
    {
        { "now", Utc(2026, 12, 7, 15, 30, 45) },
        { "today", Utc(2026, 12, 7, 15, 30, 45) },             // -te today is now
        { "yesterday", Utc(2026, 12, 6, 15, 30, 45) },         // that day at the current time, as ausearch
        { "12/06/2026", Utc(2026, 12, 6, 15, 30, 45) },
        { "2026-12-06 10:00", Utc(2026, 12, 6, 8, 0, 0) },
        { "today 00:00:00", Utc(2026, 12, 7, 15, 30, 45) },     // still now: ausearch ignores 00:00:00 after today as an end
        { "today 09:15", Utc(2026, 12, 7, 7, 15, 0) },
    };

    [Theory]
    [MemberData(nameof(Ends))]
    public void EndSelectsEventsUpToTheEndOfItsSecond(string end, long t)
    {
        var (code, output, err) = Run(Around(t), "--end", end);
        Assert.True(code == 0, err);
        Assert.Equal("1\t\n2\t\n", output); // 2 is at t.000; an event at t.999 would be in too
    }

    [Theory]
    [InlineData("boot", "'boot' is not supported")]
    [InlineData("13/45/2026", "'13/45/2026' is not a date")]
    [InlineData("02/30/2026", "'02/30/2026' is not a date")]
    [InlineData("today 25:00", "'25:00' is not a time")]
    [InlineData("01/01/1999", "the year is 1999")]
    [InlineData("today 10:00 x", "expected a date or a keyword")]
    public void ABadTimeIsAUsageError(string start, string message)
    {
        var (code, _, err) = Run(Around(100), "--start", start);
        Assert.Equal(2, code);
        Assert.Contains("FLT6001", err);
        Assert.Contains(message, err);
    }

    [Theory]
    [InlineData("jsonl", "", "give --format auditd")]
    [InlineData("auto", "{\"syscall\": 59}\n", "'<stdin>' is JSON lines")]
    public void StartAndEndNeedAnAuditLog(string format, string input, string message)
    {
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(["run", "--format", format, "--filter", "true", "--start", "today", "-"],
            () => new MemoryStream(Encoding.UTF8.GetBytes(input)), new MemoryStream(), stderr, clock: new FixedClock());
        Assert.Equal(2, code);
        Assert.Contains("FLT6001", stderr.ToString());
        Assert.Contains(message, stderr.ToString());
    }
}
