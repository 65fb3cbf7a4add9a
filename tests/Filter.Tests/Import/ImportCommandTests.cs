using System.Text;
using Xunit;

namespace Filter.Tests.Import;

/// <summary><c>filterc import-auditctl</c>: the policy on stdout, findings on stderr, exit status 0 / 2.</summary>
public class ImportCommandTests
{
    private static (int Code, string Stdout, string Stderr) Run(string rules, params string[] extra)
    {
        string path = Path.Combine(Path.GetTempPath(), $"filterc-import-{Guid.NewGuid():N}.rules");
        File.WriteAllText(path, rules);
        try
        {
            var stdout = new MemoryStream();
            var stderr = new StringWriter();
            int code = Filter.Cli.Program.Run(["import-auditctl", path, "--host-arch", "x86_64", .. extra], () => Stream.Null, stdout, stderr);
            return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void WritesThePolicyAndReportsWarningsWithStatusZero()
    {
        var (code, stdout, stderr) = Run("-a always,exit -F arch=b64 -S openat -k open\n-a always,exit -S all -F subj_type=crond_t\n");
        Assert.Equal(0, code);
        Assert.Contains("always \"open\": arch == x86_64 && syscall == openat", stdout);
        Assert.Contains(":2:26: warning FLT4002: -F subj_type= tests a security-module", stderr);
        Assert.Contains("1 rule(s) imported, 1 warning(s)", stderr);
    }

    [Fact]
    public void StrictMakesUnsupportedRulesErrors()
    {
        var (code, stdout, stderr) = Run("-a always,exit -F arch=b64 -S openat -k open\n-a always,exit -S all -F subj_type=crond_t\n", "--strict");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(":2:26: error FLT4002: -F subj_type= tests a security-module", stderr);
    }

    [Fact]
    public void APolicyTooLongForOneProgramIsWrittenWithAWarning()
    {
        // 2,000 watches with their own keys: each its own rule with its permission test, about 37
        // instructions each, past the 65,536-instruction limit (spec/limits.md)
        string rules = string.Concat(Enumerable.Range(0, 2000).Select(i => $"-w /etc/filterc-{i} -p wa -k k{i}\n"));
        var (code, stdout, stderr) = Run(rules);
        Assert.Equal(0, code);
        Assert.Contains("always \"k1999\":", stdout);
        Assert.Contains("warning FLT0301: the policy is written, but compiles to", stderr);
        Assert.Contains("filterc run refuses it", stderr);
        Assert.DoesNotContain("FLT0301", Run(rules.Split('\n')[0] + "\n").Stderr);
    }

    [Fact]
    public void IgnoreErrorsCarriesOnPastABadLineAsAuditctlIDoes()
    {
        const string rules = "-a always,exit -F arch=b64 -S opnat -k bad\n-a always,exit -F arch=b64 -S openat -k open\n";
        Assert.Equal(2, Run(rules).Code);
        var (code, stdout, stderr) = Run(rules, "-i");
        Assert.Equal(0, code);
        Assert.Contains(":1:31: warning FLT4001: unknown syscall 'opnat'", stderr);
        Assert.Contains("always \"open\":", stdout);
        Assert.DoesNotContain("\"bad\"", stdout);
        // a -i line in the file does the same for the lines after it, not before
        Assert.Equal(0, Run("-i\n" + rules).Code);
        Assert.Equal(2, Run(rules + "-i\n").Code);
    }

    [Fact]
    public void TheHostFactsAnImportUsedCanBeRecordedAndReplayedElsewhere()
    {
        string map = Path.Combine(Path.GetTempPath(), $"filterc-host-{Guid.NewGuid():N}.tsv");
        try
        {
            const string rules = "-w /etc/ -p wa -k etc\n-a always,exit -S all -F uid=root -k root\n";
            var (code, stdout, _) = Run(rules, "--record-host", map);
            Assert.Equal(0, code);
            string recorded = File.ReadAllText(map);
            Assert.Contains("path\t/etc\tdirectory\t/etc\n", recorded);
            Assert.Contains("user\troot\t0\n", recorded);
            // the map says what this host said; another map says otherwise
            static string Body(string policy) => System.Text.RegularExpressions.Regex.Replace(policy, @"\S*filterc-import-\w+\.rules", "FILE");   // the comments name the (temporary) file
            Assert.Equal(Body(stdout), Body(Run(rules, "--host-map", map).Stdout));
            File.WriteAllText(map, "path\t/etc\tfile\t/etc\nuser\troot\t7\n");
            var (code2, other, stderr2) = Run(rules, "--host-map", map);
            Assert.Equal(0, code2);
            Assert.Contains("path0 == \"/etc\"", other);
            Assert.DoesNotContain("startswith", other);
            Assert.Contains("uid == 7", other);
            Assert.Contains("note FLT4006: /etc is not a directory on this host", stderr2);
            File.WriteAllText(map, "path\t/etc\tsomething\t/etc\n");
            var (bad, _, badErr) = Run(rules, "--host-map", map);
            Assert.Equal(2, bad);
            Assert.Contains("line 1: unknown path kind 'something'", badErr);
        }
        finally { File.Delete(map); }
    }

    [Fact]
    public void AnInvalidLineIsAnError()
    {
        var (code, stdout, stderr) = Run("-a always,exit -F arch=b64 -S opnat\n");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(":1:31: error FLT4001: unknown syscall 'opnat' on x86_64 (did you mean 'openat'?)", stderr);
    }
}
