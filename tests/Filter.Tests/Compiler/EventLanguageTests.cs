using Filter.Compiler;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>
/// What the conformance vectors cannot pin because it depends on the machine: date literals without a zone are
/// local times, in the compiler's time zone (here fixed), and the times a DST change skips or repeats.
/// </summary>
public class EventLanguageTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static bool Matches(string filter, ulong time, TimeZoneInfo zone)
    {
        var c = FilterCompiler.Compile(filter, new CompilerOptions { TimeZone = zone });
        Assert.True(c.Success, c.RenderDiagnostics());
        var b = new RecordBuilder();
        b.SetU64(RecordLayout.Time, time);
        return Filter.VM.Interpreter.Run(TestPrograms.Verify(c.Image!), new Record(b.Build())) != 0;
    }

    [Fact]
    public void ADateWithoutAZoneIsALocalTime()
    {
        // 2026-12-06T10:00 in Berlin (UTC+1 in winter) is 09:00 UTC = 1796547600000.
        Assert.True(Matches("time == 2026-12-06T10:00:00", 1796547600000, Berlin));
        Assert.True(Matches("time == 2026-12-06T10:00:00", 1796551200000, TimeZoneInfo.Utc));
        Assert.True(Matches("time == 2026-12-06T10:00:00+01:00", 1796547600000, TimeZoneInfo.Utc));
        // A date alone is its local midnight.
        Assert.True(Matches("time == 2026-12-06", 1796511600000, Berlin));
    }

    [Fact]
    public void ATimeTheClocksSkipIsAnError()
    {
        var c = FilterCompiler.Compile("time >= 2026-03-29T02:30:00", new CompilerOptions { TimeZone = Berlin });
        var error = Assert.Single(c.Diagnostics);
        Assert.Equal(DiagnosticCode.BadTimeLiteral, error.Code);
        Assert.Contains("does not exist in the time zone Europe/Berlin", error.Message);
    }

    [Fact]
    public void ATimeTheClocksRepeatIsTheStandardTimeOne()
    {
        // 2026-10-25T02:30 happens twice in Berlin: at 00:30 UTC (summer time) and 01:30 UTC (standard time).
        Assert.True(Matches("time == 2026-10-25T02:30:00", 1792891800000, Berlin));
    }
}
