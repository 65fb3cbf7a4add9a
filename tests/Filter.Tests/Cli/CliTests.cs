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
        int code = Filter.Cli.Program.Run(args, new StringReader(stdin), () => new MemoryStream(Encoding.UTF8.GetBytes(stdin)), stdout, stderr);
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
        Assert.Contains("<stdin>:4: error: key 'uid'", err);
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
        Assert.Contains("pc 0: r3 is read before it is written", verify.Err);
        Assert.Equal(2, Run(Records, "run", "--program", bin).Code);
    }

    [Fact]
    public void AsmErrorNamesFileAndLine()
    {
        string asm = Path.Combine(_dir, "typo.s");
        File.WriteAllText(asm, "ret #0\njmp 3\n");
        var (code, _, err) = Run("", "asm", asm, "-o", Path.Combine(_dir, "x.bin"));
        Assert.Equal(2, code);
        Assert.Contains("typo.s:2: error: unknown mnemonic 'jmp'", err);
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
}
