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
            int code = Filter.Cli.Program.Run(["import-auditctl", path, "--host-arch", "x86_64", .. extra],
                TextReader.Null, () => Stream.Null, stdout, stderr);
            return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void WritesThePolicyAndReportsWarningsWithStatusZero()
    {
        var (code, stdout, stderr) = Run("-a always,exit -F arch=b64 -S openat -k open\n-w /etc/passwd -p wa -k identity\n");
        Assert.Equal(0, code);
        Assert.Contains("always \"open\": arch == x86_64 && syscall == openat", stdout);
        Assert.Contains(":2:1: warning FLT4002: a file watch (-w)", stderr);
        Assert.Contains("1 rule(s) imported, 2 warning(s)", stderr);
    }

    [Fact]
    public void StrictMakesUnsupportedRulesErrors()
    {
        var (code, stdout, stderr) = Run("-a always,exit -F arch=b64 -S openat -k open\n-w /etc/passwd -p wa -k identity\n", "--strict");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains(":2:1: error FLT4002: a file watch (-w)", stderr);
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
