using System.Text.Json;
using Xunit;

namespace Filter.Tests.Compiler;

/// <summary>
/// The text form prints a finding repeated on many lines (an imported rule set's watches, each with the same
/// warning) <see cref="DiagnosticRenderer.RepeatsShown"/> times in full, then one line with how many more
/// and where; the JSON and SARIF forms keep every diagnostic (spec/diagnostics.md, "Repeated findings").
/// </summary>
public class RepeatedDiagnosticsTests
{
    private const string Source = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";

    /// <summary>A warning on line <paramref name="line"/> (1-based) of <see cref="Source"/>.</summary>
    private static Diagnostic At(int line, string message = "the same finding", string file = "rules") =>
        new Diagnostic(DiagnosticCode.ImportInexact, new TextSpan(2 * (line - 1), 2 * (line - 1) + 1), message, Severity.Warning).In(file, Source);

    [Fact]
    public void PastThreeTheRestAreCountedWithTheirLines()
    {
        Diagnostic[] all = [At(1), At(2), At(3, "another finding"), At(4), At(5), At(7), At(8), At(9), At(12)];
        string text = DiagnosticRenderer.Render(DiagnosticsFormat.Text, all);
        string[] heads = text.Split('\n').Where(l => l.StartsWith("rules", StringComparison.Ordinal)).ToArray();
        Assert.Equal(
        [
            "rules:1:1: warning FLT4003: the same finding",
            "rules:2:1: warning FLT4003: the same finding",
            "rules:3:1: warning FLT4003: another finding",
            "rules:4:1: warning FLT4003: the same finding",
            "rules: warning FLT4003: 5 more as above, on lines 5, 7-9, 12 (--diagnostics json lists each)",
        ], heads);
        // Each one printed in full keeps its source line and caret.
        Assert.Equal(4 * 3 + 1, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void ThreeOrFewerArePrintedInFullAndOtherFilesCountApart()
    {
        Diagnostic[] all = [At(1), At(2), At(3), At(1, file: "other"), At(2, file: "other"), At(3, file: "other")];
        string text = DiagnosticRenderer.Render(DiagnosticsFormat.Text, all);
        Assert.DoesNotContain("more as above", text);
        Assert.Equal(all.Select(d => d.Render() + "\n"), text.Split('\n').Chunk(3).Where(c => c.Length == 3).Select(c => string.Join('\n', c) + "\n"));
    }

    [Fact]
    public void ALineWithoutAPlaceSaysOnlyHowMany()
    {
        var noPlace = new Diagnostic(DiagnosticCode.ImportInexact, default(DiagnosticLocation), "no place", Severity.Warning).In("rules");
        string text = DiagnosticRenderer.Render(DiagnosticsFormat.Text, Enumerable.Repeat(noPlace, 5));
        Assert.EndsWith("rules: warning FLT4003: 2 more as above (--diagnostics json lists each)\n", text);
        Assert.Equal(4, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void JsonAndSarifListEveryOne()
    {
        var all = Enumerable.Range(1, 10).Select(line => At(line)).ToList();
        using var json = JsonDocument.Parse(DiagnosticRenderer.Render(DiagnosticsFormat.Json, all));
        Assert.Equal(10, json.RootElement.GetProperty("diagnostics").GetArrayLength());
        using var sarif = JsonDocument.Parse(DiagnosticRenderer.Render(DiagnosticsFormat.Sarif, all));
        Assert.Equal(10, sarif.RootElement.GetProperty("runs")[0].GetProperty("results").GetArrayLength());
    }
}
