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
        Assert.Contains("the limit is 65536", d.Message);
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

    /// <summary><c>list l0 = (1..2)</c>, <c>list lN = (lN-1, lN-1)</c>: k lines describe 2^k elements.</summary>
    private static string DoublingLists(int k, string use)
    {
        var text = new StringBuilder("list l0 = (1..2)\n");
        for (int n = 1; n <= k; n++) text.Append($"list l{n} = (l{n - 1}, l{n - 1})\n");
        return text.Append(use.Replace("LAST", $"l{k}")).ToString();
    }

    /// <summary>The first error's code, line and text.</summary>
    private static (DiagnosticCode Code, int Line, string Text) RejectedAt(string filter)
    {
        var d = Rejected(filter);
        return (d.Code, Diagnostic.LineColumn(filter, d.Span.Start).Line, filter[d.Span.Start..d.Span.End]);
    }

    [Fact]
    public void ExponentialListsAreRejectedBeforeTheyExpand()
    {
        // 2^22 elements once spliced: the binder used to copy them all (seconds, and 600 MB) and succeed.
        long before = GC.GetAllocatedBytesForCurrentThread();
        var error = RejectedAt(DoublingLists(22, "a0 in LAST"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // At the first list that would take the filter past the limit: l18, named in l19's definition.
        Assert.Equal((DiagnosticCode.ExpansionTooLarge, 20, "l18"), error);
        // Counted before copying: only the lists below the limit were copied (8 bytes per element).
        Assert.True(allocated < 64 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void ListsWithinTheLimitStillCompile()
    {
        // 2^17 elements, copied and bound once each: 2^18 + 2^17 taken in all.
        TestPrograms.CompileAndVerify(DoublingLists(17, "a0 in LAST"));
    }

    [Fact]
    public void EveryUseOfAListCounts()
    {
        // A 1,000-element list is small, but 600 uses of it bind 600,000 elements: the 525th use (line 526)
        // takes the filter past 524,288.
        string list = "list odd = (" + string.Join(", ", Enumerable.Range(0, 1000).Select(i => 2 * i + 1)) + ")\n";
        string rules = string.Concat(Enumerable.Range(0, 600).Select(i => $"always \"k{i}\": a0 in odd\n"));
        Assert.Equal((DiagnosticCode.ExpansionTooLarge, 526, "odd"), RejectedAt(list + rules));
        // ... and so does each splice into an inline set or another list.
        string repeated = string.Join(", ", Enumerable.Repeat("odd", 600));
        Assert.Equal((DiagnosticCode.ExpansionTooLarge, 2, "odd"), RejectedAt(list + $"a0 in ({repeated})"));
        Assert.Equal((DiagnosticCode.ExpansionTooLarge, 2, "odd"), RejectedAt(list + $"list many = ({repeated})\na0 in many"));
    }

    [Fact]
    public void AMacroUsingAListBindsItOnce()
    {
        // The macro's body is bound once and shared by its uses, so 600 uses cost one list.
        string list = "list odd = (" + string.Join(", ", Enumerable.Range(0, 1000).Select(i => 2 * i + 1)) + ")\nmacro m = a0 in odd\n";
        TestPrograms.CompileAndVerify(list + string.Concat(Enumerable.Range(0, 600).Select(i => $"always \"k{i}\": m\n")));
    }

    /// <summary>Bytes allocated on this thread by compiling <paramref name="filter"/>.</summary>
    private static long AllocatedCompiling(string filter)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        FilterCompiler.Compile(filter);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void TheSyscallDispatchOfManyNeverRulesIsLinear()
    {
        // Each always rule was analysed with every never rule before it: quadratic in time and memory
        // (24,000 of each, 1 MB, took over 5 minutes and 1.6 GB). 300 of each allocated about 1 GB.
        var text = new StringBuilder();
        for (int i = 0; i < 300; i++) text.Append($"never: uid == {i}\n");
        for (int i = 0; i < 300; i++) text.Append($"always \"k{i}\": syscall == {i}\n");
        long allocated = AllocatedCompiling(text.ToString());
        Assert.True(allocated < 100 << 20, $"allocated {allocated} bytes");
    }

    [Fact]
    public void ALongConjunctionIsAnalysedInBoundedWork()
    {
        // The analysis copied the conjunction so far at each of its operands: quadratic in its length.
        string rule = "always \"a\": syscall == 1 && " + string.Join(" && ", Enumerable.Range(0, 3000).Select(i => $"a0 != {i}"));
        long allocated = AllocatedCompiling(rule + "\nalways \"b\": syscall == 2\n");
        Assert.True(allocated < 100 << 20, $"allocated {allocated} bytes");
    }

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
    public void AnUnpairedSurrogateIsAnErrorNotReplaced()
    {
        // Encoded as UTF-8 it became U+FFFD's bytes, and the filter matched those. (Built in code: an
        // attribute's string cannot hold an unpaired surrogate.)
        var d = Rejected("comm == \"a" + '\uD800' + "\"");
        Assert.Equal((DiagnosticCode.InvalidText, 10, "unpaired surrogate U+D800: the filter is not Unicode text"), (d.Code, d.Span.Start, d.Message));
    }

    [Theory]
    [InlineData("uid == \uFF10", 7, "unexpected '\uFF10' (U+FF10); expected expression")]        // a fullwidth digit is not a number
    [InlineData("uid == 1\uFF10", 8, "unexpected '\uFF10' (U+FF10); expected end of filter")]
    [InlineData("uid == \u0661", 7, "unexpected '\u0661' (U+0661); expected expression")]        // nor an Arabic-Indic one
    public void OnlyAsciiDigitsMakeNumbers(string filter, int at, string message)
    {
        // Pidgin's Digit took any Unicode digit, and the number was then "too large for 64 bits".
        var d = Rejected(filter);
        Assert.Equal((DiagnosticCode.SyntaxError, at, message), (d.Code, d.Span.Start, d.Message));
    }

    [Fact]
    public void AFilterFileThatIsNotUtf8IsAPositionedError()
    {
        // comm == "<ff><fe>" || uid == 0: the two bytes were read as U+FFFD U+FFFD, and the test compared with EF BF BD EF BF BD.
        byte[] file = [.. "comm == \""u8, 0xff, 0xfe, .. "\" || uid == 0"u8];
        var (text, error) = FilterText.FromUtf8(file);
        Assert.Equal((DiagnosticCode.InvalidText, 9), (error!.Code, error.Span.Start));
        Assert.Equal("byte 0xff is not UTF-8: a filter is UTF-8 text (write other bytes in a string as \\xHH)", error.Message);
        Assert.StartsWith("filter:1:10: error FLT0007", error.Render(text));
        Assert.Equal(("uid == 0", null), FilterText.FromUtf8([0xef, 0xbb, 0xbf, .. "uid == 0"u8]));
        Assert.Equal(("é", null), FilterText.FromUtf8("é"u8));
        Assert.Equal(2, FilterText.FromUtf8([.. "é\n"u8, 0xc3]).Error!.Span.Start); // a sequence cut short at the end (é is one character)
    }

    [Fact]
    public void OperandsFollowedByOperatorsAtEveryNestingLevelParseOnce()
    {
        // Each level's operand is followed by an operator, so every level goes the operator table's full way
        // with its operand already parsed: parsing it again there would double the work per level (2^200).
        var arithmetic = new string('(', 200) + "a0" + string.Concat(Enumerable.Repeat(" + 1)", 200)) + " == 200";
        var flat = "a0" + string.Concat(Enumerable.Repeat(" + 1", 200)) + " == 200";
        Assert.Equal(TestPrograms.CompileAndVerify(flat).Image.Code, TestPrograms.CompileAndVerify(arithmetic).Image.Code);
        var comparisons = new string('(', 200) + "uid == 0)" + string.Concat(Enumerable.Repeat(" == true)", 199));
        var compiled = FilterCompiler.Compile(comparisons);
        Assert.True(compiled.Success, compiled.RenderDiagnostics());
    }

    [Fact]
    public void LongStringLiteralsKeepEveryCharacter()
    {
        // Read 256 characters at a time: a surrogate pair across that boundary stays whole.
        foreach (int before in new[] { 254, 255, 256, 511 })
        {
            string text = new string('a', before) + "😀é\\x41\\n" + new string('b', 300);
            var c = FilterCompiler.Compile($"exe == \"{text}\"");
            Assert.True(c.Success, c.RenderDiagnostics());
            string expected = new string('a', before) + "😀éA\n" + new string('b', 300);
            Assert.Equal(Encoding.UTF8.GetBytes(expected), c.Image!.Strings.Single().ToArray());
        }
    }

    [Theory]
    [InlineData("exe == \"a\\x4\"", 12, "unexpected '\"'; expected escape")]
    [InlineData("exe == \"a\\q\"", 10, "unexpected 'q'; expected escape")]
    [InlineData("exe == \"abc", 11, "unexpected end of filter; expected closing '\"'")]
    [InlineData("exe == \"ab\nc\"", 10, "unexpected end of line; expected closing '\"'")]
    public void StringLiteralErrorsPointAtTheCharacter(string filter, int at, string message)
    {
        var d = Rejected(filter);
        Assert.Equal((DiagnosticCode.SyntaxError, at), (d.Code, d.Span.Start));
        Assert.StartsWith(message, d.Message);
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
