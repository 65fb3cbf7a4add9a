using Filter.Compiler;
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
