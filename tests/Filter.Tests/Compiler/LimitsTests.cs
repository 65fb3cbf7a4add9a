using System.Text;
using Filter.Compiler;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>Hostile filter text gets a positioned error or a correct program: never a crash or a stack overflow.</summary>
public class LimitsTests
{
    private static Diagnostic Rejected(string filter)
    {
        var c = FilterCompiler.Compile(filter);
        Assert.False(c.Success);
        return c.Diagnostics[0];
    }

    [Fact]
    public void HundredThousandParenthesesIsANestingError()
    {
        var d = Rejected(new string('(', 100_000) + "uid == 0" + new string(')', 100_000));
        Assert.Equal((DiagnosticCode.NestingTooDeep, 256), (d.Code, d.Span.Start));
    }

    [Fact]
    public void HundredThousandNotsIsANestingError() =>
        Assert.Equal(DiagnosticCode.NestingTooDeep, Rejected(new string('!', 100_000) + "success").Code);

    [Fact]
    public void LongArithmeticChainIsANestingError() =>
        Assert.Equal(DiagnosticCode.NestingTooDeep, Rejected("a0" + string.Concat(Enumerable.Repeat(" + 1", 20_000)) + " == 0").Code);

    [Fact]
    public void LongOrChainIsFlatAndTooLongAProgram()
    {
        var filter = string.Join(" || ", Enumerable.Range(0, 40_000).Select(i => $"a0 == {i * 3} && a1 != 1"));
        var d = Rejected(filter);
        Assert.Equal(DiagnosticCode.ProgramTooLong, d.Code);
        Assert.Contains("the limit is 4096", d.Message);
    }

    [Fact]
    public void LongOrChainWithinTheLimitCompilesAndVerifies()
    {
        var filter = string.Join(" || ", Enumerable.Range(0, 1000).Select(i => $"a0 == {i * 3}"));
        TestPrograms.CompileAndVerify(filter);
    }

    [Fact]
    public void HugeSetBeyondTheRangeLimitIsAClearError()
    {
        var filter = "a0 in (" + string.Join(", ", Enumerable.Range(0, 100_000).Select(i => (i * 2).ToString())) + ")";
        var d = Rejected(filter);
        Assert.Equal(DiagnosticCode.SetTooLarge, d.Code);
        Assert.Contains("100000 separate values", d.Message);
    }

    [Fact]
    public void HugeContiguousSetCompilesToOneRange() =>
        TestPrograms.CompileAndVerify("a0 in (" + string.Join(", ", Enumerable.Range(0, 100_000)) + ")");

    [Fact]
    public void OverlongFilterIsRejectedUpFront()
    {
        var d = Rejected(new string(' ', FilterParserLimits.MaxLength) + "true");
        Assert.Equal(DiagnosticCode.InputTooLong, d.Code);
    }

    [Theory]
    [InlineData("uid == 0\0", "unexpected NUL character")]
    [InlineData("uid == 0 \u2028", "unexpected")]
    [InlineData("ü == 0", "unexpected 'ü'")]
    [InlineData("comm == \"\uD800\"", "")]
    public void OddCharactersGetAPositionedErrorOrCompile(string filter, string message)
    {
        var c = FilterCompiler.Compile(filter);
        if (!c.Success)
        {
            Assert.Contains(message, c.Diagnostics[0].Message);
            Assert.Contains("^", c.RenderDiagnostics());
        }
    }

    [Fact]
    public void RenderingAnErrorOnALongLineIsLinear()
    {
        var filter = new StringBuilder().Append("uid == 0 && ").Append('x', 500_000).ToString();
        var c = FilterCompiler.Compile(filter);
        Assert.False(c.Success);
        Assert.StartsWith("filter:1:13: error FLT0102", c.RenderDiagnostics());
    }
}

file static class FilterParserLimits
{
    public const int MaxLength = Filter.Compiler.Syntax.FilterParser.MaxLength;
}
