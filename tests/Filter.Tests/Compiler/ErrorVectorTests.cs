using Filter.Compiler;
using Filter.VM;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>spec/conformance/errors.txt: each bad filter gives exactly the stated code, position and message.</summary>
public class ErrorVectorTests
{
    public static IEnumerable<object[]> Vectors() =>
        File.ReadAllLines(TestData.Conformance("errors.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Select(p => new object[] { p[0].Replace("\\n", "\n"), p[1], p[2], p[3] });

    [Theory]
    [MemberData(nameof(Vectors))]
    public void GivesThePositionedDiagnostic(string filter, string code, string position, string message)
    {
        var c = FilterCompiler.Compile(filter);
        Assert.False(c.Success);
        var d = c.Diagnostics[0];
        var (line, column) = Diagnostic.LineColumn(filter, d.Span.Start);
        Assert.Equal((code, position, message), (d.CodeText, $"{line}:{column}", d.Message));
    }

    [Fact]
    public void RendersWithCaretUnderTheSpan()
    {
        var c = FilterCompiler.Compile("syscall == execve && usr == 0");
        Assert.Equal(
            "filter:1:22: error FLT0102: unknown field 'usr' (did you mean 'uid'?)\n" +
            "  syscall == execve && usr == 0\n" +
            "                       ^~~",
            c.RenderDiagnostics());
    }

    [Fact]
    public void ReportsIndependentErrorsTogether()
    {
        var c = FilterCompiler.Compile("usr == 0 || gidd == 1");
        Assert.Equal(["FLT0102", "FLT0102"], c.Diagnostics.Select(d => d.CodeText));
    }
}

public class WarningTests
{
    [Fact]
    public void ThirtyTwoBitFieldAgainstMinusOneWarnsButCompiles()
    {
        var c = FilterCompiler.Compile("syscall == execve && auid != -1");
        Assert.True(c.Success);
        var w = Assert.Single(c.Warnings);
        Assert.Equal(("FLT0401", Severity.Warning), (w.CodeText, w.Severity));
        Assert.Equal(
            "filter:1:30: warning FLT0401: 'auid' is a 32-bit field and never equals 18446744073709551615 (0xffffffffffffffff); for 'unset' write 4294967295\n" +
            "  syscall == execve && auid != -1\n" +
            "                               ^~",
            c.RenderWarnings());
    }

    [Fact]
    public void AFieldNamedLikeASyscallBesideSyscallWarnsAndKeepsItsMeaning()
    {
        var c = FilterCompiler.Compile("syscall in (read, exit)");
        Assert.True(c.Success);
        var w = Assert.Single(c.Warnings);
        Assert.Equal(
            "filter:1:19: warning FLT0403: 'exit' beside syscall is the exit field, not the exit system call; write __NR_exit for the system call\n" +
            "  syscall in (read, exit)\n" +
            "                    ^~~~",
            c.RenderWarnings());
        // Still the field: a read (0) that returned 0 matches through `syscall == exit`, exit(2) (60) does not.
        var record = new RecordBuilder();
        record.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        record.SetU32(RecordLayout.Syscall, 60);
        record.SetExit(7);
        Assert.False(ReferenceEvaluator.Evaluate(c.Bound!, new Record(record.Build())));
        Assert.Empty(FilterCompiler.Compile("syscall in (read, __NR_exit)").Warnings);
        Assert.Empty(FilterCompiler.Compile("syscall == 60 && exit == 0").Warnings);
    }

    /// <summary>`time` was a syscall name before it was a field (record v2): beside syscall it stays the call.</summary>
    [Theory]
    [InlineData("syscall == time")]
    [InlineData("syscall in (read, time)")]
    public void TimeBesideSyscallIsTheSystemCall(string filter)
    {
        var c = FilterCompiler.Compile(filter);
        Assert.True(c.Success, c.RenderDiagnostics());
        Assert.Empty(c.Warnings);
        var record = new RecordBuilder();
        record.SetU32(RecordLayout.Arch, AuditArch.X86_64);
        record.SetU32(RecordLayout.Syscall, 201); // time(2) on x86_64
        record.SetU64(RecordLayout.Time, 201);
        Assert.True(ReferenceEvaluator.Evaluate(c.Bound!, new Record(record.Build())));
        record.SetU32(RecordLayout.Syscall, 202);
        record.SetU64(RecordLayout.Time, 202);
        Assert.False(ReferenceEvaluator.Evaluate(c.Bound!, new Record(record.Build())));
    }

    [Theory]
    [InlineData("auid != 4294967295")]
    [InlineData("a0 != -1")]
    [InlineData("exit == -1")]
    public void InRangeComparisonsDoNotWarn(string filter) => Assert.Empty(FilterCompiler.Compile(filter).Warnings);
}
