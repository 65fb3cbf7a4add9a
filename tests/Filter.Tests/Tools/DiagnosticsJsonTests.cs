using System.Text.Json;
using Filter.Compiler;
using Filter.Compiler.Import;
using Filter.Compiler.Tools;
using Xunit;

namespace Filter.Tests.Tools;

/// <summary>
/// <c>--diagnostics json|sarif</c>: the first line of standard error is one JSON document; parsed back, every
/// field is checked (spec/diagnostics.md, "Machine-readable diagnostics").
/// </summary>
public class DiagnosticsJsonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-diag").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonDocument FirstLine(string stderr) => JsonDocument.Parse(stderr.Split('\n')[0]);

    private string File(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void JsonErrorHasCodePositionAndSuggestion()
    {
        var (code, output, err) = ExplainTests.Cli("compile", "syscall == execve && usr == 0", "--diagnostics", "json");
        Assert.Equal((2, ""), (code, output));
        using var doc = FirstLine(err);
        Assert.Equal(1, doc.RootElement.GetProperty("version").GetInt32());
        var d = doc.RootElement.GetProperty("diagnostics").EnumerateArray().Single();
        Assert.Equal(("FLT0102", "error", "unknown field 'usr' (did you mean 'uid'?)", "filter"),
            (d.GetProperty("code").GetString(), d.GetProperty("severity").GetString(), d.GetProperty("message").GetString(), d.GetProperty("file").GetString()));
        Assert.Equal((1, 22, 1, 25), (d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32(), d.GetProperty("endLine").GetInt32(), d.GetProperty("endColumn").GetInt32()));
        Assert.Equal("uid", d.GetProperty("suggestion").GetString());
    }

    [Fact]
    public void JsonWarningsOnSuccessAndAnEmptyDocumentWhenClean()
    {
        var path = File("w.flt", "# auditctl habit\nsyscall == execve &&\n  auid != -1\n");
        var (code, _, err) = ExplainTests.Cli("compile", "-f", path, "--diagnostics", "json");
        Assert.Equal(0, code);
        using var doc = FirstLine(err);
        var d = doc.RootElement.GetProperty("diagnostics").EnumerateArray().Single();
        Assert.Equal(("FLT0401", "warning", path, 3, 11), (d.GetProperty("code").GetString(), d.GetProperty("severity").GetString(),
            d.GetProperty("file").GetString(), d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32()));
        Assert.Equal(JsonValueKind.Null, d.GetProperty("suggestion").ValueKind);

        var (clean, _, cleanErr) = ExplainTests.Cli("compile", "uid == 0", "-o", Path.Combine(_dir, "p.bin"), "--diagnostics", "json");
        Assert.Equal((0, "{\"version\":1,\"diagnostics\":[]}\n"), (clean, cleanErr));
    }

    [Fact]
    public void SarifLogHasRuleResultRegionAndFix()
    {
        var path = File("p.flt", "macro root = uid == 0\nalways \"x\": rooot\n");
        var (code, _, err) = ExplainTests.Cli("run", "-f", path, "--diagnostics", "sarif", "-");
        Assert.Equal(2, code);
        using var doc = FirstLine(err);
        var root = doc.RootElement;
        Assert.Equal(("2.1.0", "https://json.schemastore.org/sarif-2.1.0.json"), (root.GetProperty("version").GetString(), root.GetProperty("$schema").GetString()));
        var run = root.GetProperty("runs").EnumerateArray().Single();
        Assert.Equal("filterc", run.GetProperty("tool").GetProperty("driver").GetProperty("name").GetString());
        var rule = run.GetProperty("tool").GetProperty("driver").GetProperty("rules")[0];
        Assert.Equal("FLT0106", rule.GetProperty("id").GetString());
        Assert.Equal("unknown macro or list (with the nearest definition), or a name after in that is not a list",
            rule.GetProperty("shortDescription").GetProperty("text").GetString());
        Assert.Equal("unknown macro or list (with the nearest definition), or a name after `in` that is not a list",
            rule.GetProperty("shortDescription").GetProperty("markdown").GetString());
        var result = run.GetProperty("results").EnumerateArray().Single();
        Assert.Equal(("FLT0106", 0, "error"), (result.GetProperty("ruleId").GetString(), result.GetProperty("ruleIndex").GetInt32(), result.GetProperty("level").GetString()));
        Assert.Equal("unknown macro or list 'rooot' (did you mean 'root'?)", result.GetProperty("message").GetProperty("text").GetString());
        Assert.Contains("'rooot'", err); // as written, not \u0027
        var location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
        Assert.Equal(path, location.GetProperty("artifactLocation").GetProperty("uri").GetString());
        var region = location.GetProperty("region");
        Assert.Equal((2, 13, 2, 18), (region.GetProperty("startLine").GetInt32(), region.GetProperty("startColumn").GetInt32(),
            region.GetProperty("endLine").GetInt32(), region.GetProperty("endColumn").GetInt32()));
        var replacement = result.GetProperty("fixes")[0].GetProperty("artifactChanges")[0].GetProperty("replacements")[0];
        Assert.Equal("root", replacement.GetProperty("insertedContent").GetProperty("text").GetString());
        Assert.Equal(13, replacement.GetProperty("deletedRegion").GetProperty("startColumn").GetInt32());
    }

    /// <summary>The spec's code tables and the codes the tools report are the same set: each code reported has its meaning.</summary>
    [Fact]
    public void EveryCodeHasItsMeaningInTheSpecAndNoOtherIsListed()
    {
        var reported = Enum.GetValues<DiagnosticCode>().Select(c => new Diagnostic(c, default(DiagnosticLocation), "").CodeText)
            .Order(StringComparer.Ordinal);
        // Every import finding's kind has its code.
        Assert.All(Enum.GetValues<ImportIssue>(), k => Assert.True(Enum.IsDefined(ImportFinding.Code(k))));
        Assert.Equal(reported, DiagnosticDescriptions.Codes.Order(StringComparer.Ordinal));
        Assert.Equal("a rule the analysis found no deciding record for, without proving there is none (its conditions are beyond the analysis, e.g. uid == euid && uid != euid): it may never decide",
            DiagnosticDescriptions.Text("FLT0505"));
        Assert.Null(DiagnosticDescriptions.Markdown("FLT9999"));
    }

    [Fact]
    public void AnalyzeWarningsAreDiagnosticsToo()
    {
        var path = File("a.flt", "always \"a\": syscall == execve\nalways \"b\": syscall == execve && uid == 0\nalways \"c\": auid == 0 && auid >= 1000 || uid == 7\n");
        var (code, output, err) = ExplainTests.Cli("analyze", path, "--diagnostics", "json");
        Assert.Equal(0, code);
        Assert.Contains("rule 2 (line 2) always \"b\": syscall == execve && uid == 0\n  shadowed by rule 1: never decides", output);
        using var doc = FirstLine(err);
        var found = doc.RootElement.GetProperty("diagnostics").EnumerateArray()
            .Select(d => (d.GetProperty("code").GetString(), d.GetProperty("severity").GetString(), d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32()));
        Assert.Equal([("FLT0502", "warning", 2, 1), ("FLT0504", "warning", 3, 13)], found);
    }

    [Fact]
    public void IdsScopeAndImportFindingsToo()
    {
        var (ids, _, idsErr) = ExplainTests.Cli("ids", "--scope", "comm == bash", "--diagnostics", "json", File("empty.log", ""));
        Assert.Equal(2, ids);
        using (var doc = FirstLine(idsErr))
        {
            var d = doc.RootElement.GetProperty("diagnostics")[0];
            Assert.Equal(("FLT0102", "scope"), (d.GetProperty("code").GetString(), d.GetProperty("file").GetString()));
        }

        var rules = File("r.rules", "-d always,exit -S all\n-a always,exit -F arch=b64 -S execve -k exec\n");
        var (import, policy, importErr) = ExplainTests.Cli("import-auditctl", rules, "--diagnostics", "json");
        Assert.Equal(0, import);
        Assert.Contains("always \"exec\"", policy);
        using (var doc = FirstLine(importErr))
        {
            var d = doc.RootElement.GetProperty("diagnostics")[0];
            Assert.Equal(("FLT4002", "warning", rules, 1, 1), (d.GetProperty("code").GetString(), d.GetProperty("severity").GetString(),
                d.GetProperty("file").GetString(), d.GetProperty("line").GetInt32(), d.GetProperty("column").GetInt32()));
        }
    }
}
