using System.Text;
using System.Text.Json;
using Xunit;

namespace Filter.Tests.Ids;

/// <summary><c>filterc ids</c> through its entry point, on the recorded workload log.</summary>
public class IdsCliTests
{
    private static string Log => Path.Combine(AppContext.BaseDirectory, "Data", "ids", "workload.log");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    [Fact]
    public void OneAlertLineAndASummary()
    {
        var (code, output, err) = Run("ids", Log);
        Assert.Equal(0, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("ALERT pid=22224 ppid=22221 exe=\"/tmp/filter-ids.", line);
        Assert.EndsWith("/service\" sig=SIGSEGV n=2 window=64 receive=read fd=0 ret=22 receive_event=1795746099.745:111069 crash_event=1795746099.745:111075", line);
        Assert.Contains("filterc ids: 438 events (436 syscall records, 2 ANOM_ABEND)", err);
        Assert.Contains("1 alert (window 64)", err);
    }

    [Fact]
    public void JsonAndWindow()
    {
        var (code, output, _) = Run("ids", "--json", "--scope", "true", "--window", "4", Log);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output.Trim());
        Assert.Equal(4, doc.RootElement.GetProperty("n").GetInt32());
        Assert.Equal("1795746099.745:111069", doc.RootElement.GetProperty("receive_event").GetProperty("id").GetString());
        Assert.Equal((0, ""), (Run("ids", "--scope", "true", "--window", "3", Log).Code, Run("ids", "--scope", "true", "--window", "3", Log).Out));
    }

    [Fact]
    public void UsageErrors()
    {
        var (code, _, err) = Run("ids", "--scope", "uid === 0", Log);
        Assert.Equal(2, code);
        Assert.Contains("scope:1:", err);
        Assert.Equal(2, Run("ids", "--window", "-1", Log).Code);
        Assert.Equal(2, Run("ids", "--live", Log).Code);
        // --install-field: only with --install, only process fields; refused before anything touches the kernel.
        foreach (var command in new[] { "ids", "tail" })
        {
            string[] filter = command == "tail" ? ["--filter", "syscall == execve"] : [];
            (code, _, err) = Run([command, .. filter, "--install-field", "ppid=1"]);
            Assert.Equal((2, "filterc: error FLT6001: --install-field is for the rules of --install\n"), (code, err));
            (code, _, err) = Run([command, .. filter, "--install", "--install-field", "exe=/bin/ls"]);
            Assert.Equal(2, code);
            Assert.StartsWith("filterc: error FLT6001: --install-field: 'exe=/bin/ls' is not NAME=VALUE", err);
        }
    }

    [Fact]
    public void BadInputNamesTheLine()
    {
        string bad = Path.Combine(Path.GetTempPath(), $"ids-bad-{Environment.ProcessId}.log");
        try
        {
            File.WriteAllText(bad, "type=SYSCALL msg=audit(1.000:1): arch=zz syscall=0\n");
            var (code, _, err) = Run("ids", bad);
            Assert.Equal(1, code);
            Assert.Contains($"{bad}:1:", err);
            Assert.Equal(0, Run("ids", "--lenient", bad).Code);
        }
        finally
        {
            File.Delete(bad);
        }
    }
}
