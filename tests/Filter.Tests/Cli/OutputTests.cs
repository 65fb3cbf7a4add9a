using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>
/// What run, report and plugin write: raw lines (an ENRICHED log's \x1d kept in a pipe, a space on a
/// terminal), interpreted (ausearch -i, the ENRICHED values shown), JSON, aureport-like counts, and the
/// plugin's file and syslog outputs.
/// </summary>
public sealed class OutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-output").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(string stdin, bool terminal, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr, terminal);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    /// <summary>An ENRICHED execve event of samples/audit.log (SYSCALL ... PROCTITLE).</summary>
    private static readonly string Execve = StreamingTests.Event(565488);

    // Two syscall events: an execve by uid 1000 that succeeded, a read by root that failed.
    private const string Log =
        "type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=\"exec\"\n" +
        "type=EOE msg=audit(1.001:10): \n" +
        "type=SYSCALL msg=audit(1.003:12): arch=c000003e syscall=0 success=no exit=-13 a0=3 a1=4 a2=5 a3=6 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)\n" +
        "type=EOE msg=audit(1.003:12): \n";

    [Fact]
    public void RawOutputKeepsTheEnrichedSeparatorInAPipeAndSpacesItOnATerminal()
    {
        Assert.Contains("key=\"all\"\u001dARCH=x86_64", Execve);
        var piped = Run(Execve, terminal: false, "run", "--filter", "true");
        Assert.Equal((0, Execve), (piped.Code, piped.Out));
        var shown = Run(Execve, terminal: true, "run", "--filter", "true");
        Assert.Equal(Execve.Replace('\x1d', ' '), shown.Out);
        Assert.Contains("key=\"all\" ARCH=x86_64", shown.Out);
    }

    [Fact]
    public void InterpretedOutputShowsTheEnrichedValuesAsAusearchDoes()
    {
        var (code, output, _) = Run(Execve, terminal: false, "run", "--output", "interpreted", "--filter", "true");
        Assert.Equal(0, code);
        Assert.StartsWith("----\ntype=SYSCALL msg=audit(", output);
        Assert.DoesNotContain("\x1d", output);
        // The ENRICHED AUID and UID stand in for the numbers; the hex proctitle is decoded.
        Assert.Contains(" arch=x86_64 syscall=execve success=yes ", output);
        Assert.Contains(" auid=unknown(4242) uid=root ", output);
        Assert.Contains(" comm=bash exe=/usr/bin/bash key=all\n", output);
        Assert.Contains("proctitle=/bin/bash -c ", output);
    }

    [Fact]
    public void JsonOutputIsOneObjectPerEventWithEveryRecordAndItsEnrichedFields()
    {
        var (code, output, _) = Run(Execve, terminal: false, "run", "--output", "json", "--filter", "true");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var ev = Assert.Single(lines);
        using var doc = JsonDocument.Parse(ev);
        Assert.Equal(565488, doc.RootElement.GetProperty("serial").GetInt64());
        var records = doc.RootElement.GetProperty("records");
        Assert.Equal(Execve.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, records.GetArrayLength());
        Assert.Equal("59", records[0].GetProperty("fields").GetProperty("syscall").GetString());
        Assert.Equal("execve", records[0].GetProperty("enriched").GetProperty("SYSCALL").GetString());
    }

    [Fact]
    public void ReportCountsTheMatchingEventsPerKeySyscallExeUserAndSuccess()
    {
        var (code, output, err) = Run(Log, terminal: false, "report");
        Assert.Equal((0, ""), (code, err));
        Assert.Contains("Key Summary Report\n==================================\ntotal  key\n==================================\n1  (none)\n1  exec\n", output);
        Assert.Contains("total  syscall\n==================================\n1  execve\n1  read\n", output);
        Assert.Contains("1  /usr/bin/cat\n1  /usr/bin/ls\n", output);
        Assert.Contains("total  uid\n==================================\n1  ", output);
        Assert.Contains("total  success\n==================================\n1  no\n1  yes\n", output);
    }

    [Fact]
    public void ReportCountsOnlyWhatTheFilterMatchesAndPrintsJson()
    {
        var (code, output, _) = Run(Log + Log.Replace(":10)", ":20)").Replace(":12)", ":22)"), terminal: false,
            "report", "--filter", "success == false || uid == 1000", "--by", "success,syscall", "--by", "rule", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(4, doc.RootElement.GetProperty("events").GetInt64());
        var by = doc.RootElement.GetProperty("by");
        Assert.Equal("[{\"value\":\"no\",\"count\":2},{\"value\":\"yes\",\"count\":2}]", by.GetProperty("success").GetRawText());
        Assert.Equal("[{\"value\":\"execve\",\"count\":2},{\"value\":\"read\",\"count\":2}]", by.GetProperty("syscall").GetRawText());
        Assert.Equal("[{\"value\":\"(none)\",\"count\":4}]", by.GetProperty("rule").GetRawText());

        var filtered = Run(Log, terminal: false, "report", "--filter", "syscall == read", "--by", "exe", "--json");
        Assert.Equal("{\"events\":1,\"by\":{\"exe\":[{\"value\":\"/usr/bin/cat\",\"count\":1}]}}\n", filtered.Out);
    }

    [Fact]
    public void ReportRejectsAnUnknownColumn()
    {
        var (code, _, err) = Run(Log, terminal: false, "report", "--by", "syscall,colour");
        Assert.Equal(2, code);
        Assert.Contains("'colour' is not one of key, rule, syscall, exe, comm, uid, auid, success", err);
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("json")]
    public void ThePluginAppendsTheMatchingEventsOfItsFeedToAFile(string output)
    {
        string file = Path.Combine(_dir, "matches.log");
        File.WriteAllText(file, "before\n");
        var (code, stdout, err) = Run(Log, terminal: false, "plugin", "--filter", "syscall == read", "--to", file, "--output", output);
        Assert.Equal((0, "", ""), (code, stdout, err));
        string written = File.ReadAllText(file);
        if (output == "raw") Assert.Equal("before\n" + string.Concat(Log.Split('\n').Skip(2).Take(2).Select(l => l + "\n")), written);
        else
        {
            var lines = written.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            using var doc = JsonDocument.Parse(lines[1]);
            Assert.Equal(12, doc.RootElement.GetProperty("serial").GetInt64());
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void ThePluginWritesANewFileOnlyItsOwnerCanRead()
    {
        string file = Path.Combine(_dir, "new.log");
        Assert.Equal(0, Run(Log, terminal: false, "plugin", "--filter", "true", "--to", file).Code);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Fact]
    public void ThePluginSendsEachLineOfAMatchToSyslogAsOneMessage()
    {
        string path = Path.Combine(_dir, "log.sock");
        using var daemon = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        daemon.Bind(new UnixDomainSocketEndPoint(path));
        var (code, _, err) = Run(Execve, terminal: false, "plugin", "--filter", "syscall == execve", "--to", "syslog:local6", "--syslog-socket", path);
        Assert.Equal((0, ""), (code, err));
        var messages = new List<string>();
        var buffer = new byte[1 << 16];
        while (daemon.Available > 0) messages.Add(Encoding.UTF8.GetString(buffer, 0, daemon.Receive(buffer)));
        var lines = Execve.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Length, messages.Count);
        // local6.info is <182>; the ENRICHED separator a space, as auditd's syslog plugin sends it.
        Assert.All(messages, m => Assert.Matches(@"^<182>\w{3} [ \d]\d \d\d:\d\d:\d\d filterc\[\d+\]: type=", m));
        Assert.EndsWith(": " + lines[0].Replace('\x1d', ' '), messages[0]);
    }

    [Fact]
    public void ThePluginRefusesAnUnknownSyslogFacility()
    {
        var (code, _, err) = Run(Log, terminal: false, "plugin", "--filter", "true", "--to", "syslog:local9");
        Assert.Equal(2, code);
        Assert.Contains("unknown syslog facility 'local9'", err);
    }
}
