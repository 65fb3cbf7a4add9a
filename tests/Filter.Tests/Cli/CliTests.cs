using System.Text;
using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>filterc end to end through its entry point, with in-memory standard streams.</summary>
public class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(string stdin, params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    private const string Records =
        "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000,\"exe\":\"/usr/bin/ls\"}\n" +
        "{\"arch\":\"x86_64\",\"syscall\":0,\"uid\":1000}\n" +
        "{\"arch\":\"aarch64\",\"syscall\":221,\"uid\":0, \"exe\":\"/tmp/x\"}\n";

    [Fact]
    public void RunPrintsMatchingLinesUnchanged()
    {
        var (code, output, err) = Run(Records, "run", "--filter", "syscall == execve && uid != 0");
        Assert.Equal((0, ""), (code, err));
        Assert.Equal("{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000,\"exe\":\"/usr/bin/ls\"}\n", output);
    }

    [Fact]
    public void RunCountsPerArchSyscallNames()
    {
        var (code, output, _) = Run(Records, "run", "--filter", "syscall == execve", "--count", "-");
        Assert.Equal((0, "2\n"), (code, output));
    }

    [Fact]
    public void RunWithNoMatchSucceeds()
    {
        var (code, output, _) = Run(Records, "run", "--filter", "uid == 7", "--count");
        Assert.Equal((0, "0\n"), (code, output));
    }

    [Fact]
    public void BadFilterGivesPositionedErrorAndStatus2()
    {
        var (code, output, err) = Run(Records, "run", "--filter", "syscall == execve && usr == 0");
        Assert.Equal((2, ""), (code, output));
        Assert.Contains("filter:1:22: error FLT0102: unknown field 'usr' (did you mean 'uid'?)", err);
        Assert.Contains("                       ^~~", err);
    }

    [Fact]
    public void BadInputNamesTheLineAndStatus1()
    {
        var (code, _, err) = Run(Records + "{\"uid\": \"0\"}\n", "run", "--filter", "true");
        Assert.Equal(1, code);
        Assert.Contains("<stdin>:4: error FLT3002: key 'uid'", err);
    }

    [Fact]
    public void CompileDisassemblesAndRoundTripsThroughAsm()
    {
        string bin = Path.Combine(_dir, "p.bin"), asm = Path.Combine(_dir, "p.s"), bin2 = Path.Combine(_dir, "p2.bin");
        var (code, text, _) = Run("", "compile", "syscall in (execve, fork, clone) && uid != 0", "-o", bin, "-d");
        Assert.Equal(0, code);
        Assert.Contains("jin", text);
        Assert.Contains("ret     #1", text);
        File.WriteAllText(asm, text);
        Assert.Equal(0, Run("", "asm", asm, "-o", bin2).Code);
        Assert.Equal(File.ReadAllBytes(bin), File.ReadAllBytes(bin2));
        Assert.Equal(text, Run("", "disasm", bin2).Out);
        Assert.Contains("ok:", Run("", "verify", bin2).Out);
        var (rc, output, _) = Run(Records, "run", "--program", bin2);
        Assert.Equal(0, rc);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void VerifyRejectsAHandWrittenBadProgram()
    {
        string asm = Path.Combine(_dir, "bad.s"), bin = Path.Combine(_dir, "bad.bin");
        File.WriteAllText(asm, ".verdict 1 \"\"\njeq r3, #0 jt 1 jf 2\nret #0\nret #1\n");
        var (code, _, err) = Run("", "asm", asm, "-o", bin);
        Assert.Equal(0, code);
        Assert.Contains("warning", err);
        var verify = Run("", "verify", bin);
        Assert.Equal(2, verify.Code);
        Assert.Contains("bad.bin: pc 0: error FLT2011: r3 is read before it is written", verify.Err);
        Assert.Equal(2, Run(Records, "run", "--program", bin).Code);
    }

    [Fact]
    public void AsmErrorNamesFileAndLine()
    {
        string asm = Path.Combine(_dir, "typo.s");
        File.WriteAllText(asm, "ret #0\njmp 3\n");
        var (code, _, err) = Run("", "asm", asm, "-o", Path.Combine(_dir, "x.bin"));
        Assert.Equal(2, code);
        Assert.Contains("typo.s:2: error FLT1001: unknown mnemonic 'jmp'", err);
    }

    [Fact]
    public void RunsTheReadmeSample()
    {
        var sample = TestData.Path("samples", "records.jsonl");
        var (code, output, err) = Run("", "run", "--filter", "syscall in (socket, connect) && !success", "--count", sample);
        Assert.Equal((0, ""), (code, err));
        Assert.True(int.Parse(output.Trim()) > 0);
    }

    [Fact]
    public void MissingFilterIsAUsageError() => Assert.Equal(2, Run(Records, "run").Code);

    private const string AuditLog =
        "type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)\n" +
        "type=USER_LOGIN msg=audit(1.002:11): pid=5 uid=0 auid=1000 ses=3 msg='op=login acct=\"x\" res=success'\n" +
        "type=EXECVE msg=audit(1.001:10): argc=1 a0=\"ls\"\n" +
        "type=SYSCALL msg=audit(1.003:12): arch=c000003e syscall=0 success=no exit=-13 a0=3 a1=4 a2=5 a3=6 items=0 ppid=1 pid=2 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)\n";

    [Fact]
    public void RunAuditdPrintsWholeMatchingEventsInInputOrder()
    {
        var (code, output, err) = Run(AuditLog, "run", "--format", "auditd", "--filter", "syscall == execve");
        Assert.Equal((0, ""), (code, err));
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("type=SYSCALL msg=audit(1.001:10)", lines[0]);
        Assert.StartsWith("type=EXECVE msg=audit(1.001:10)", lines[1]);
    }

    [Theory]
    [InlineData("true", "3\n")]                 // every event, with or without a SYSCALL record
    [InlineData("uid >= 0", "2\n")]             // reads a field: only syscall events
    [InlineData("exit == -EACCES", "1\n")]
    [InlineData("!(exit == -EACCES)", "1\n")]   // negation does not reach events without a syscall
    public void EventsWithoutSyscallMatchOnlyConstantFilters(string filter, string expected)
    {
        var (code, output, _) = Run(AuditLog, "run", "--format", "auditd", "--count", "--filter", filter);
        Assert.Equal((0, expected), (code, output));
    }

    [Fact]
    public void MalformedAuditLineStopsOrIsCountedWithLenient()
    {
        string log = AuditLog + "this is not an audit record\n";
        var strict = Run(log, "run", "--format", "auditd", "--count", "--filter", "true");
        Assert.Equal(1, strict.Code);
        Assert.Contains("<stdin>:5: error FLT3002:", strict.Err);
        var lenient = Run(log, "run", "--format", "auditd", "--count", "--lenient", "--filter", "true");
        Assert.Equal((0, "3\n"), (lenient.Code, lenient.Out));
        Assert.Contains("<stdin>:5: warning FLT3002:", lenient.Err);
        Assert.Contains("warning: skipped 1 malformed line", lenient.Err);
    }

    [Theory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void EnginesGiveTheSameOutput(string engine)
    {
        var (code, output, _) = Run(Records, "run", "--engine", engine, "--filter", "syscall == execve && uid != 0");
        Assert.Equal((0, "{\"arch\":\"x86_64\",\"syscall\":59,\"uid\":1000,\"exe\":\"/usr/bin/ls\"}\n"), (code, output));
    }

    [Fact]
    public void RunReadsSeveralFilesInOrder()
    {
        string a = Path.Combine(_dir, "a.jsonl"), b = Path.Combine(_dir, "b.jsonl");
        File.WriteAllText(a, Records);
        File.WriteAllText(b, Records);
        var (code, output, _) = Run("", "run", "--count", "--filter", "syscall == execve", a, b);
        Assert.Equal((0, "4\n"), (code, output));
    }
}
