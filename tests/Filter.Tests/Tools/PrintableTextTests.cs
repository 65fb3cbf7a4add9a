using Filter.Compiler.Tools;
using Xunit;

namespace Filter.Tests.Tools;

/// <summary>What the text outputs print of keys and rule text: nothing that drives a terminal or starts a line.</summary>
public class PrintableTextTests
{
    [Theory]
    [InlineData("exec", "exec")]
    [InlineData("a\\x01b \"q\" é 日本", "a\\x01b \"q\" é 日本")]          // backslashes as written
    [InlineData("\u001b[31mRED\n565488\tforged", "\\x1b[31mRED\\x0a565488\\x09forged")]
    [InlineData("k\u0001j\u007f\u0085", "k\\x01j\\x7f\\x85")]
    [InlineData("abc\u202edcba\u200b\u2028", "abc\\u202edcba\\u200b\\u2028")]  // bidi override, zero width, line separator
    [InlineData("😀", "😀")]                                                     // a pair is a character
    public void EscapesWhatWouldActOnATerminal(string text, string printed) => Assert.Equal(printed, PrintableText.Escape(text));

    [Fact]
    public void EscapesUnpairedSurrogates() =>
        // (In code: an attribute's string cannot hold an unpaired surrogate.)
        Assert.Equal("\\ud800x\\udc00", PrintableText.Escape(new string(['\ud800', 'x', '\udc00'])));

    [Fact]
    public void ExplainAndAnalyzeEscapeTheRuleTextTheyPrint()
    {
        var compilation = Filter.Compiler.FilterCompiler.Compile("always \"k\\x01\": comm == \"\u001b[2J\"\nalways \"k\\x01\": comm == \"\u001b[2J\"");
        Assert.True(compilation.Success);
        var explained = PolicyExplainer.Explain(compilation, new Record(new RecordBuilder().ToArray())).Render();
        Assert.DoesNotContain('\u001b', explained);
        Assert.Contains("comm == \"\\x1b[2J\"", explained);
        var program = Filter.Verifier.Verifier.Verify(compilation.Image!).Program!;
        var analysis = AnalysisOutput.Text(PolicyAnalyzer.Analyze(compilation, program), compilation.Source, "p.flt");
        Assert.DoesNotContain('\u001b', analysis);
        Assert.DoesNotContain('\u0001', analysis);
        Assert.Contains("rule 2 (always \"k\\x01\") never decides", analysis);
    }
}
