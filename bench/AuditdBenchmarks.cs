using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Filter.Audit.Formats;
using Filter.Compiler;
using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// Filtering a real auditd log from disk (the page cache) with <c>syscall == execve</c>, the way
/// <c>filterc run --format auditd --count</c> does it, beside a pure byte scan (<c>grep -c 'syscall=59 '</c>
/// in C#). One operation is one pass over the whole log, so the MB/s and Events/s columns are the log's
/// size and event count divided by Mean.
/// </summary>
/// <remarks>
/// The log is built by <c>tools/bench/make-audit-log.sh</c> (real records, ids rewritten) under the temp
/// folder, once; its size in megabytes comes from <see cref="LogSizeVariable"/> (default 32).
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(ThroughputColumns))]
public class AuditdBenchmarks
{
    public const string LogSizeVariable = "FILTER_BENCH_AUDITD_MB";
    public const string FilterText = "syscall == execve";
    private const int DefaultMegabytes = 32;
    private const int ChunkBytes = 64 * 1024; // as LineReader's buffer and AuditdInput's file buffer

    private string _path = null!;
    private IRecordFilter _jit = null!;
    private IRecordFilter _interpreter = null!;
    private readonly RecordBuilder _builder = new();
    private readonly byte[] _chunk = new byte[ChunkBytes];

    [GlobalSetup]
    public void Setup()
    {
        var log = BenchLog.Get();
        _path = log.Path;
        var program = FilterProgram.Compile(FilterText).EnsureProgram();
        _jit = RecordFilters.Create(program, EngineKind.Jit);
        _interpreter = RecordFilters.Create(program, EngineKind.Interpreter);
        // Every column must find the same execve events (the log has no other arch, so the scan agrees).
        long expected = GrepScan();
        foreach (var (name, found) in new[] { ("jit", FilterJit()), ("interpreter", FilterInterpreter()) })
            if (found != expected) throw new InvalidOperationException($"{name} matched {found} events, the scan found {expected} 'syscall=59 '");
        if (ReadEvents() != log.Events) throw new InvalidOperationException("event count changed");
    }

    /// <summary><c>grep -c 'syscall=59 '</c>: a vectorised search over the file's bytes, read in 64 KiB chunks.</summary>
    [Benchmark(Baseline = true)]
    public long GrepScan()
    {
        ReadOnlySpan<byte> needle = "syscall=59 "u8;
        var chunk = _chunk;
        long found = 0;
        int kept = 0; // bytes carried over from the previous chunk: a needle may straddle two reads
        using var file = OpenLog();
        while (true)
        {
            int read = file.Read(chunk, kept, chunk.Length - kept);
            if (read == 0) break;
            var span = chunk.AsSpan(0, kept + read);
            int at, from = 0;
            while ((at = span[from..].IndexOf(needle)) >= 0)
            {
                found++;
                from += at + needle.Length;
            }
            kept = Math.Min(needle.Length - 1, span.Length - from);
            span[^kept..].CopyTo(chunk);
        }
        return found;
    }

    /// <summary>The floor for any line reader: find every '\n' (what <c>wc -l</c> does).</summary>
    [Benchmark]
    public long SplitLines()
    {
        var chunk = _chunk;
        long lines = 0;
        using var file = OpenLog();
        int read;
        while ((read = file.Read(chunk, 0, chunk.Length)) > 0) lines += chunk.AsSpan(0, read).Count((byte)'\n');
        return lines;
    }

    /// <summary><see cref="AuditdReader"/> alone: lines grouped into events, SYSCALL records decoded, no filter.</summary>
    [Benchmark]
    public long ReadEvents()
    {
        long events = 0;
        using var reader = AuditdReader.OpenFiles([_path]);
        while (reader.Read(_builder) is var result && result != ReadResult.End)
        {
            if (result == ReadResult.Error) throw new InvalidOperationException(reader.Error!.Render());
            events++;
        }
        return events;
    }

    /// <summary>What <c>filterc run --format auditd --engine jit --count</c> does.</summary>
    [Benchmark]
    public long FilterJit() => Count(_jit);

    [Benchmark]
    public long FilterInterpreter() => Count(_interpreter);

    // The loop of RunCommand.Run.Auditd, less the output.
    private long Count(IRecordFilter filter)
    {
        bool constant = !filter.Program.ReadsRecord;
        long matched = 0;
        using var reader = AuditdReader.OpenFiles([_path]);
        while (true)
        {
            var result = reader.Read(_builder);
            if (result == ReadResult.End) break;
            if (result == ReadResult.Error) throw new InvalidOperationException(reader.Error!.Render());
            bool match = reader.HasSyscall
                ? filter.Run(new Record(_builder.Build())) != 0
                : constant && filter.Run(new Record(_builder.Build())) != 0;
            if (match) matched++;
        }
        return matched;
    }

    // As AuditdInput.Open opens a file.
    private FileStream OpenLog() => new(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);

    /// <summary>
    /// The generated log and what it holds. Built once per size (the script writes the file atomically and
    /// deterministically) and its event count kept beside it, so the host process can compute the columns
    /// after a run in child processes.
    /// </summary>
    public sealed record BenchLog(string Path, long Bytes, long Events)
    {
        public static BenchLog Get()
        {
            int megabytes = int.TryParse(Environment.GetEnvironmentVariable(LogSizeVariable), out int mb) && mb > 0 ? mb : DefaultMegabytes;
            string script = FindScript();
            string dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "filter-bench");
            Directory.CreateDirectory(dir);
            string path = System.IO.Path.Combine(dir, $"auditd-{megabytes}MB.log");
            string eventsPath = path + ".events";
            if (!File.Exists(path) || File.GetLastWriteTimeUtc(path) < File.GetLastWriteTimeUtc(script))
            {
                File.Delete(eventsPath);
                using var make = Process.Start(new ProcessStartInfo("bash", [script, path, megabytes.ToString()]) { RedirectStandardError = true })!;
                string errors = make.StandardError.ReadToEnd();
                make.WaitForExit();
                if (make.ExitCode != 0) throw new InvalidOperationException($"{script} failed: {errors}");
            }
            if (!(File.Exists(eventsPath) && long.TryParse(File.ReadAllText(eventsPath), out long events)))
            {
                events = 0;
                using (var reader = AuditdReader.OpenFiles([path]))
                    while (reader.Read(new RecordBuilder()) is var result && result != ReadResult.End)
                        if (result == ReadResult.Record) events++;
                File.WriteAllText(eventsPath, events.ToString());
            }
            return new BenchLog(path, new FileInfo(path).Length, events);
        }

        /// <summary>tools/bench/make-audit-log.sh, found from the build output (several levels deep in a child build) or the working folder.</summary>
        private static string FindScript()
        {
            foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                {
                    string candidate = System.IO.Path.Combine(dir.FullName, "tools", "bench", "make-audit-log.sh");
                    if (File.Exists(candidate)) return candidate;
                }
            throw new FileNotFoundException("tools/bench/make-audit-log.sh not found above " + AppContext.BaseDirectory);
        }
    }

    private sealed class ThroughputColumns : ManualConfig
    {
        public ThroughputColumns() => AddColumn(
            new PerSecondColumn("MB/s", log => log.Bytes / 1e6),
            new PerSecondColumn("Events/s", log => log.Events));
    }

    /// <summary>A quantity of the log per operation, divided by the operation's mean time.</summary>
    private sealed class PerSecondColumn(string name, Func<BenchLog, double> perOperation)
        : CustomColumn(name, $"{name}: the log's {(name == "MB/s" ? "size in 10^6 bytes" : "event count")} divided by Mean")
    {
        private BenchLog? _log;

        public override string Id => nameof(PerSecondColumn) + ColumnName;

        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNs is not > 0) return "NA";
            _log ??= BenchLog.Get();
            double perSecond = perOperation(_log) / (meanNs.Value / 1e9);
            return perSecond >= 1e6 ? $"{perSecond / 1e6:N2} M" : perSecond.ToString("N0");
        }
    }
}
