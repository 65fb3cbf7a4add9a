using Filter.Compiler;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>
/// Hints for a missing string operator, whichever the language has: a word where an operator was expected
/// is named whole and said not to be an operator, never "unexpected 'c'" (the exact messages are vectors in
/// spec/conformance/errors.txt).
/// </summary>
public class HintTests
{
    [Theory]
    [InlineData("exe contains \"x\"", "contains")]
    [InlineData("exe endswith \"/sh\"", "endswith")]
    [InlineData("comm like \"ba%\"", "like")]
    public void AWordWhereAnOperatorWasExpectedIsNamedWhole(string filter, string word)
    {
        var c = FilterCompiler.Compile(filter);
        if (c.Diagnostics.Count == 0) return; // the language has this operator
        var d = Assert.Single(c.Diagnostics);
        Assert.Equal(DiagnosticCode.SyntaxError, d.Code);
        Assert.StartsWith($"unexpected '{word}'", d.Message);
        Assert.Contains($"('{word}' is not an operator: strings compare with ==, !=", d.Message);
        Assert.Contains("startswith", d.Message);
    }
}
