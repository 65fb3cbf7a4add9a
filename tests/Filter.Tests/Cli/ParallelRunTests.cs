using System.Text;
using Filter.Tests.Auditd;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Cli;

/// <summary>
/// <c>filterc run --threads N</c> on one auditd file (spec/auditd.md, "Parallel runs"): stdout, stderr and the
/// exit code are the sequential run's, byte for byte, whatever the cuts: tiny chunks (the hidden
/// <c>--chunk-bytes</c>) put cuts inside events, interleaved events, EOE records, bad and over-long lines.
/// </summary>
public class ParallelRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("filterc-parallel").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(args, () => new MemoryStream(), stdout, stderr);
        return (code, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }

    /// <summary>The sequential run's result and the parallel runs' with each chunk size, side by side.</summary>
    private static void AssertSameAsSequential(string log, string[] args, params int[] chunkSizes)
    {
        var sequential = Run(["run", "--threads", "1", .. args, log]);
        foreach (int threads in new[] { 2, 3 })
            foreach (int chunk in chunkSizes)
            {
                var parallel = Run(["run", "--threads", $"{threads}", "--chunk-bytes", $"{chunk}", .. args, log]);
                Assert.True(sequential == parallel,
                    $"--threads {threads} --chunk-bytes {chunk} {string.Join(' ', args)}: exit {parallel.Code} (sequential {sequential.Code}), " +
                    $"stdout {(sequential.Out == parallel.Out ? "same" : "differs")}, stderr '{parallel.Err}' (sequential '{sequential.Err}')");
            }
    }

    private static readonly string[][] Outputs =
    [
        ["--output", "raw"], ["--output", "interpreted"], ["--output", "json"], ["--count"], ["--keys"],
    ];

    public static TheoryData<string> OracleLogs()
    {
        var logs = new TheoryData<string>();
        foreach (var log in Directory.GetFiles(System.IO.Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs"), "*.log").Order()) logs.Add(log);
        return logs;
    }

    [Theory]
    [MemberData(nameof(OracleLogs))]
    public void OracleLogsGiveTheSequentialOutput(string log)
    {
        foreach (var filter in new[] { "true", "syscall in (socket, connect)", "syscall == openat && (a2 & 0x3) != 0", "euid != 0 && exe == \"/usr/bin/python3.11\"" })
            foreach (var output in Outputs)
                AssertSameAsSequential(log, ["--filter", filter, .. output], 4099, 1 << 20);
    }

    // ---- Generated logs ---------------------------------------------------------------------------------

    private static string Syscall(long serial, int syscall, bool success = true) =>
        $"type=SYSCALL msg=audit(1700000000.{serial % 1000:D3}:{serial}): {KernelText.Syscall($"arch=c000003e syscall={syscall} success={(success ? "yes" : "no")} exit={(success ? 3 : -2)} items=1")}\n";

    private static string Record(string type, long serial, string text) => $"type={type} msg=audit(1700000000.{serial % 1000:D3}:{serial}): {text}\n";

    private static string PathRecord(long serial, string name) => Record("PATH", serial, $"item=0 name=\"{name}\" inode=1 dev=00:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0");

    private static string Proctitle(long serial) => Record("PROCTITLE", serial, "proctitle=6C73002D6C");

    /// <summary>One piece of a generated log: events of the shapes real and hostile logs have.</summary>
    private static string Piece(int kind, long serial, int syscall) => kind switch
    {
        // A kernel event: SYSCALL, CWD, PATH, PROCTITLE (its last record).
        0 => Syscall(serial, syscall) + Record("CWD", serial, "cwd=\"/root\"") + PathRecord(serial, "/tmp/x") + Proctitle(serial),
        // Two events interleaved, as concurrent system calls write them.
        1 => Syscall(serial, syscall) + Syscall(serial + 1, 257, success: false) + PathRecord(serial, "/etc/passwd") + PathRecord(serial + 1, "/tmp/y")
             + Proctitle(serial + 1) + Proctitle(serial),
        // An event without a last record: complete when 64 newer events started, or at the end.
        2 => Syscall(serial, syscall) + PathRecord(serial, "/usr/bin/ls"),
        // An event ended by EOE, and an EOE after a PROCTITLE (auditd's plugin feed).
        3 => Syscall(serial, syscall) + Record("EOE", serial, ""),
        4 => Syscall(serial, syscall) + Proctitle(serial) + Record("EOE", serial, ""),
        // A user-space message (an event of one record), and a blank line.
        5 => Record("USER_LOGIN", serial, "pid=1 uid=0 auid=0 ses=1 msg='op=login acct=\"root\" res=success'"),
        6 => "\n",
        // A late record of an event long complete (a straggler), and a bad line.
        7 => PathRecord(Math.Max(1, serial - 100), "/late"),
        8 => "this is not an audit record\n",
        // A SYSCALL record that does not decode, and a byte order mark inside the file.
        9 => Record("SYSCALL", serial, "arch=c000003e syscall=nope"),
        _ => "\uFEFF" + Syscall(serial, syscall) + Proctitle(serial),
    };

    private string Log(IEnumerable<(int Kind, int Syscall)> pieces, string? prefix = null)
    {
        var text = new StringBuilder(prefix);
        long serial = 1;
        foreach (var (kind, syscall) in pieces)
        {
            text.Append(Piece(kind, serial, syscall));
            serial += 2;
        }
        string path = System.IO.Path.Combine(_dir, $"log{Guid.NewGuid():N}.log");
        File.WriteAllText(path, text.ToString(), new UTF8Encoding(false));
        return path;
    }

    private static readonly int[] Calls = [59, 257, 0, 42];

    private static IEnumerable<(int, int)> Pieces(int count, Func<int, int> kind) => Enumerable.Range(0, count).Select(i => (kind(i), Calls[i % Calls.Length]));

    [Fact]
    public void KernelEventsWithInterleavingGiveTheSequentialOutput()
    {
        string log = Log(Pieces(400, i => i % 7 == 0 ? 1 : i % 11 == 0 ? 5 : i % 13 == 0 ? 6 : 0));
        foreach (var output in Outputs)
            AssertSameAsSequential(log, ["--filter", "syscall == execve || !success", .. output], 1, 50, 333, 4096);
    }

    [Fact]
    public void EventsWithoutLastRecordsAndStragglersGiveTheSequentialOutput()
    {
        string log = Log(Pieces(300, i => i % 5 == 0 ? 2 : i % 17 == 0 ? 7 : 0));
        AssertSameAsSequential(log, ["--filter", "true", "--keys"], 1, 100, 2000);
        AssertSameAsSequential(log, ["--filter", "syscall == openat"], 1, 100, 2000);
    }

    [Fact]
    public void EoeRecordsGiveTheSequentialOutput()
    {
        string log = Log(Pieces(300, i => i % 3 == 0 ? 3 : i % 3 == 1 ? 4 : 0));
        AssertSameAsSequential(log, ["--filter", "true", "--keys"], 1, 90, 1000);
        AssertSameAsSequential(log, ["--filter", "true", "--count"], 1, 90, 1000);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public void ABadLineStopsOrIsSkippedAsSequentially(int bad)
    {
        string log = Log(Pieces(300, i => i % 97 == 50 ? bad : 0));
        var sequential = Run("run", "--threads", "1", "--filter", "true", "--keys", log);
        Assert.Equal(1, sequential.Code); // the test is only worth something if the run does stop
        AssertSameAsSequential(log, ["--filter", "true", "--keys"], 1, 120, 3000);
        AssertSameAsSequential(log, ["--filter", "true", "--keys", "--lenient"], 1, 120, 3000);
        AssertSameAsSequential(log, ["--filter", "syscall == execve", "--count", "--lenient"], 1, 120, 3000);
    }

    [Fact]
    public void AnOverLongLineStopsOrIsSkippedAsSequentially()
    {
        string log = Log(Pieces(200, i => 0).Take(100));
        File.AppendAllText(log, Record("PATH", 1000, new string('x', (1 << 20) + 10)));
        File.AppendAllText(log, File.ReadAllText(Log(Pieces(100, i => 0))).Replace("1700000000.", "1700000001.", StringComparison.Ordinal));
        AssertSameAsSequential(log, ["--filter", "true", "--keys"], 1, 500, 1 << 19);
        AssertSameAsSequential(log, ["--filter", "true", "--keys", "--lenient"], 1, 500, 1 << 19);
    }

    [Fact]
    public void AByteOrderMarkStartingTheFileIsDroppedAsSequentially()
    {
        string log = Log(Pieces(100, i => 0), prefix: "\uFEFF");
        AssertSameAsSequential(log, ["--filter", "true"], 1, 10);
    }

    [Fact]
    public void StartAndEndSelectEventsAsSequentially()
    {
        string log = Log(Pieces(100, i => i % 3 == 0 ? 1 : 0));
        AssertSameAsSequential(log, ["--filter", "true", "--keys", "--start", "2023-11-14T22:13:20Z", "--end", "2023-11-14T22:13:20Z"], 1, 200);
    }

    /// <summary>Random logs of every piece above, random cut sizes, every output.</summary>
    [Fact]
    public void RandomLogsAndCutsGiveTheSequentialOutput()
    {
        var cases =
            from pieces in Gen.Zip(Gen.Frequency((12, Gen.Choose(0, 2)), (6, Gen.Choose(0, 7)), (1, Gen.Choose(0, 10))), Gen.Elements(Calls)).ListOf()
            from chunk in Gen.Choose(1, 3000)
            from output in Gen.Elements(Outputs)
            from lenient in Gen.Elements(true, false)
            select (Pieces: pieces.ToArray(), Chunk: chunk, Output: output, Lenient: lenient);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            string log = Log(c.Pieces);
            string[] args = ["--filter", "syscall == execve || !success", .. c.Output, .. c.Lenient ? new[] { "--lenient" } : []];
            AssertSameAsSequential(log, args, c.Chunk);
            File.Delete(log);
        }));
    }

    [Fact]
    public void ThreadsMustBePositive()
    {
        var (code, _, err) = Run("run", "--threads", "0", "--filter", "true", "-");
        Assert.Equal(2, code);
        Assert.Contains("--threads must be at least 1", err);
    }
}
