using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Filter.Tests.Auditd;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Cli;

/// <summary>
/// Issue 15's reproducers, each through filterc's entry point as an attacker would feed it: every one
/// ends with a clear error (the exit status the README gives, a message naming the problem) or a correct
/// result, never a stack trace or a success with data missing, and within a bound on the memory the
/// process allocates (200 MB; the old code took gigabytes on the first). Run alone (it measures the whole
/// process); the time each took is written to the output, not asserted.
/// </summary>
[Collection(nameof(Filter.Tests.Pipeline.AllocationCollection))]
public sealed class HostileInputTests(ITestOutputHelper output) : IDisposable
{
    private const long MaxAllocated = 200L << 20;
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-hostile").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    /// <summary>filterc in this process; fails on a stack trace, and when it allocated more than the bound.</summary>
    private (int Code, string Out, string Err) Filterc(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(), stdout, stderr);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        string err = stderr.ToString();
        output.WriteLine($"filterc {string.Join(' ', args.Select(a => a.StartsWith(_dir, StringComparison.Ordinal) ? Path.GetFileName(a) : a))}: " +
            $"exit {code}, {clock.ElapsedMilliseconds} ms, {allocated >> 20} MB allocated\n  {err.Split('\n')[0]}");
        Assert.DoesNotContain("Unhandled exception", err);
        Assert.DoesNotContain("   at ", err);
        Assert.True(allocated < MaxAllocated, $"allocated {allocated} bytes");
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), err);
    }

    // ---- 1. Exponential list splicing -----------------------------------------------------------------

    [Theory]
    [InlineData("")]      // list lN = (lN-1, lN-1): 526 bytes, 2^24 elements
    [InlineData(", 7")]   // one element more per level (killed by the OOM killer at 24 GB)
    public void AListThatDoublesAtEachLevelIsRefusedBeforeItExpands(string extra)
    {
        var text = new StringBuilder("list l0 = (1..2)\n");
        for (int n = 1; n <= 24; n++) text.Append($"list l{n} = (l{n - 1}, l{n - 1}{extra})\n");
        string file = Write("lists.flt", text.Append("always \"k\": a0 in l24\n").ToString());
        var (code, _, err) = Filterc("compile", "-f", file);
        Assert.Equal(2, code);
        Assert.Contains("error FLT0305: list 'l1", err);
        Assert.Contains("a filter may take at most 524288 (each use of a list counts all its elements)", err);
    }

    [Fact]
    public void MacrosOverListsAndNestedMacrosAreBoundedToo()
    {
        // A macro's list is bound once; a macro of macros is measured before code is generated.
        var text = new StringBuilder("list l = (" + string.Join(", ", Enumerable.Range(0, 1000).Select(i => 3 * i)) + ")\nmacro m0 = a0 in l\n");
        for (int n = 1; n <= 30; n++) text.Append($"macro m{n} = m{n - 1} || !m{n - 1}\n");
        var (code, _, err) = Filterc("compile", "-f", Write("macros.flt", text.Append("always: m30\n").ToString()));
        Assert.Equal(2, code);
        Assert.Contains("error FLT0305: expression has more than 65536 nodes once its macros are expanded", err);
    }

    // ---- 2. Runnable programs without the verifier ----------------------------------------------------
    // Building a VerifiedProgram without the verifier, or changing one after it, is impossible by construction
    // (VerifiedProgramTests: no InternalsVisibleTo, no public constructor, nothing reachable writable). What is
    // left to an attacker is a program file: the probe's programs are refused, by the rule they break.

    [Theory]
    [InlineData("mov r16, #1\nret #0\n", "FLT2005", "pc 0: error FLT2005: register r16 does not exist")]
    [InlineData("mov r255, #1\nret #0\n", "FLT2005", "pc 0: error FLT2005: register r255 does not exist")]
    [InlineData("mov r0, #1\nmov r1, r200\nret #0\n", "FLT2005", "pc 1: error FLT2005: register r200 does not exist")]
    [InlineData("ret #0xdeadbeef\n", "FLT2013", "pc 0: error FLT2013: verdict 3735928559 is out of range (0..1)")]
    public void AProgramTheVerifierRefusesDoesNotRun(string body, string code, string message)
    {
        string asm = Write("probe.s", ".verdict 1 \"\"\n" + body);
        string bin = Path.Combine(_dir, "probe.bin");
        Assert.Equal(0, Filterc("asm", asm, "-o", bin).Code);
        var (verified, _, rejected) = Filterc("verify", bin);
        Assert.Equal(2, verified);
        Assert.Contains(message, rejected);
        var (ran, printed, refused) = Filterc("run", "--program", bin, Write("one.jsonl", "{}\n"));
        Assert.Equal((2, ""), (ran, printed));
        Assert.Contains(code, refused);
    }

    // ---- 3. An event time out of range --------------------------------------------------------------

    private static string SyscallLine(string id, string fields = "arch=c000003e syscall=59 success=yes exit=0") =>
        $"type=SYSCALL msg=audit({id}): {KernelText.Syscall(fields)}\n";

    [Fact]
    public void AnEventTimeOutOfRangeIsABadLineNotACrash()
    {
        string log = Write("time.log", SyscallLine("9300000000000000.000:1") + SyscallLine("1795731042.524:2"));
        const string message = "time.log:1: error FLT3002: event time 9300000000000000.000 is out of range";
        foreach (var command in new[] { new[] { "ids", log }, ["run", "--format", "auditd", "--filter", "true", log] })
        {
            var (code, _, err) = Filterc(command);
            Assert.Equal(1, code);
            Assert.Contains(message, err);
        }
        var (lenient, _, lenientErr) = Filterc("ids", "--lenient", log);
        Assert.Equal(0, lenient);
        Assert.Contains("warning: skipped 1 malformed line", lenientErr);
        Assert.Contains("filterc ids: 1 events", lenientErr);
    }

    // ---- 4. Truncated and damaged gzip -----------------------------------------------------------------

    [Fact]
    public void ATruncatedOrDamagedGzipIsAnErrorNamingTheFileLenientOrNot()
    {
        byte[] gz;
        using (var compressed = new MemoryStream())
        {
            using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
                gzip.Write(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "audit.log")));
            gz = compressed.ToArray();
        }
        var crc = (byte[])gz.Clone();
        crc[^6] ^= 0x55;
        var cases = new (string Name, byte[] Bytes, string Message)[]
        {
            ("cut60.log.gz", gz[..60], "cannot read past here: the gzip data is truncated: it ends inside the compressed data of gzip member 1, after 60 compressed bytes"),
            ("cutmid.log.gz", gz[..(gz.Length / 2)], "cannot read past here: the gzip data is truncated"),
            ("crc.log.gz", crc, "cannot read past here: the CRC-32 of gzip member 1 does not match its data"),
        };
        foreach (var (name, bytes, message) in cases)
        {
            string path = Write(name, bytes);
            foreach (var lenient in new[] { false, true })
            {
                string[] args = lenient ? ["run", "--format", "auditd", "--count", "--lenient", "--filter", "true", path]
                    : ["run", "--format", "auditd", "--count", "--filter", "true", path];
                var (code, stdout, err) = Filterc(args);
                Assert.Equal((1, ""), (code, stdout)); // no count: the log was not read to its end
                Assert.Contains($"{name}:", err);
                Assert.Contains(message, err);
                Assert.DoesNotContain("unsupported compression method", err);
            }
        }
        var (whole, count, _) = Filterc("run", "--format", "auditd", "--count", "--filter", "true", Write("whole.log.gz", gz));
        Assert.Equal((0, "4252\n"), (whole, count));
    }

    // ---- 5. Records that lack what they must have --------------------------------------------------

    [Fact]
    public void ASyscallLineCutShortIsNotRoot()
    {
        string log = Write("cut.log", "type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3\n");
        var (code, stdout, err) = Filterc("run", "--format", "auditd", "--filter", "uid == 0 && auid == 0 && euid == 0", log);
        Assert.Equal((1, ""), (code, stdout));
        Assert.Contains("cut.log:1: error FLT3002: SYSCALL record: 'a3' is not a KEY=VALUE field", err);
        string fieldless = Write("nouid.log", "type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4\n");
        (code, stdout, err) = Filterc("run", "--format", "auditd", "--count", "--lenient", "--filter", "uid == 0", fieldless);
        Assert.Equal((0, "0\n"), (code, stdout));
        Assert.Contains("nouid.log:1: warning FLT3002: SYSCALL record has no 'uid' field", err);
        Assert.Contains("warning: skipped 1 malformed line", err);
    }

    [Fact]
    public void AJsonRecordWithoutTheFieldsTheFilterReadsIsAnError()
    {
        string records = Write("records.jsonl", "{\"arch\": \"x86_64\"}\n");
        var (code, stdout, err) = Filterc("run", "--filter", "syscall == read", records);
        Assert.Equal((1, ""), (code, stdout));
        Assert.Contains("records.jsonl:1: error FLT3002: key 'syscall' is missing: the filter reads it", err);
    }

    // ---- 6. Output forgery through keys --------------------------------------------------------------

    [Fact]
    public void AForgedKeyIsRefusedByTheVerifierAndKeysArePrintedEscaped()
    {
        string asm = Write("forged.s", ".verdict 1 \"\\x1b[31mRED\\n565488\\tforged-key\\x1b[0m\"\nret #1\n");
        string bin = Path.Combine(_dir, "forged.bin");
        var (assembled, _, warning) = Filterc("asm", asm, "-o", bin);
        Assert.Equal(0, assembled);
        Assert.Contains("does not verify and will not run", warning);
        var (verified, _, rejected) = Filterc("verify", bin);
        Assert.Equal(2, verified);
        Assert.Contains("forged.bin: error FLT2016: key of verdict 1 holds U+001B at character 0; keys hold no control character but \\x01 [key-text]", rejected);
        var (ran, printed, _) = Filterc("run", "--program", bin, "--keys", Write("one.jsonl", "{}\n"));
        Assert.Equal((2, ""), (ran, printed));

        // The one control character a key may hold, the kernel's key separator, prints escaped: one line per match.
        var (code, keys, _) = Filterc("run", "--filter", "always \"a\\x01b\": true", "--keys", Write("two.jsonl", "{}\n{}\n"));
        Assert.Equal((0, "1\ta\\x01b\n2\ta\\x01b\n"), (code, keys));
    }

    // ---- Filter text --------------------------------------------------------------------------------

    [Fact]
    public void FilterTextThatIsNotUtf8OrNotADigitIsNamedAsSuch()
    {
        string file = Write("bytes.flt", [.. "comm == \""u8, 0xff, 0xfe, .. "\" || uid == 0"u8]);
        var (code, stdout, err) = Filterc("compile", "-d", "-f", file);
        Assert.Equal((2, ""), (code, stdout));
        Assert.Contains("bytes.flt:1:10: error FLT0007: byte 0xff is not UTF-8", err);
        (code, _, err) = Filterc("compile", "uid == \uFF10");
        Assert.Equal(2, code);
        Assert.Contains("filter:1:8: error FLT0001: unexpected '\uFF10' (U+FF10)", err);
        Assert.DoesNotContain("does not fit in 64 bits", err);
    }
}
