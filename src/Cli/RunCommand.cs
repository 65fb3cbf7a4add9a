using System.CommandLine;
using Filter.Audit.Formats;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc run</c>: prints the input records (JSON lines) or events (auditd logs) a filter matches,
/// their original lines unchanged and in input order, like grep; or counts them; or, with <c>--keys</c>,
/// prints for each match its serial and the key of the deciding rule.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliIO io)
    {
        var filter = new Option<string?>("--filter") { Description = "the filter expression" };
        var file = new Option<FileInfo?>("--file", "-f") { Description = "read the filter from FILE" };
        var program = new Option<FileInfo?>("--program") { Description = "a bytecode file (verified before it runs)" };
        var format = new Option<string>("--format") { Description = "input format: jsonl (records) or auditd (audit.log events)", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong("jsonl", "auditd");
        var engine = new Option<string>("--engine") { Description = "interp, jit, or auto (the JIT unless the input is small)", DefaultValueFactory = _ => "auto" };
        engine.AcceptOnlyFromAmong("auto", "interp", "jit");
        var count = new Option<bool>("--count") { Description = "print the number of matching records or events instead" };
        var keys = new Option<bool>("--keys") { Description = "print SERIAL<TAB>KEY per match instead: the event's serial (auditd) or the line number (jsonl), and the deciding rule's key" };
        var start = new Option<string?>("--start") { Description = "auditd: only events at or after this time, as ausearch -ts takes it ('today', 'recent', '12/06/2026 10:00', 2026-12-06T10:00:00, ...)" };
        var end = new Option<string?>("--end") { Description = "auditd: only events at or before this time, as ausearch -te takes it" };
        var lenient = new Option<bool>("--lenient") { Description = "skip malformed lines with a warning (and count them) instead of stopping" };
        var diagnostics = CliDiagnostics.Option();
        var inputs = new Argument<string[]>("input") { Arity = ArgumentArity.ZeroOrMore, Description = "input files (auditd: gzip-compressed too), or - for standard input (the default)" };
        var cmd = new Command("run", "print the records or events a filter matches, unchanged (like grep)")
            { filter, file, program, format, engine, count, keys, start, end, lenient, diagnostics, inputs };
        cmd.SetAction(r =>
        {
            if (FilterLoading.Source(r.GetValue(filter), r.GetValue(file), io, r.GetValue(program), programAllowed: true) is not { } source)
                return CliIO.UsageError;
            if (r.GetValue(count) && r.GetValue(keys)) return io.Usage("give --count or --keys, not both");
            if ((r.GetValue(start) is not null || r.GetValue(end) is not null) && r.GetValue(format) != "auditd")
                return io.Usage("--start and --end select events of an audit log by their time: give --format auditd");
            long from = long.MinValue, to = long.MaxValue;
            if (r.GetValue(start) is { } s && !AusearchTime.TryParse(s, end: false, io.Clock, out from, out string startError))
                return io.Usage($"--start {startError}");
            if (r.GetValue(end) is { } e && !AusearchTime.TryParse(e, end: true, io.Clock, out to, out string endError))
                return io.Usage($"--end {endError}");
            if (FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics)).Program is not { } verified) return CliIO.UsageError;

            var paths = r.GetValue(inputs) is { Length: > 0 } given ? given : ["-"];
            var filterEngine = RecordFilters.Create(verified, ChooseEngine(r.GetValue(engine)!, paths));
            if (r.GetValue(engine) == "jit" && filterEngine.Engine != EngineKind.Jit)
                io.Stderr.WriteLine("note: --engine jit is not available in this build (NativeAOT): using the interpreter");
            var run = new Run(io, filterEngine, r.GetValue(count), r.GetValue(keys), r.GetValue(lenient)) { From = from, To = to };
            return r.GetValue(format) == "auditd" ? run.Auditd(paths) : run.JsonLines(paths);
        });
        return cmd;
    }

    /// <summary>
    /// The JIT costs a fraction of a millisecond to compile and wins after a few thousand records, so
    /// auto picks it for standard input (unknown size) and for inputs of at least 1 MiB.
    /// </summary>
    private static EngineKind ChooseEngine(string choice, string[] paths) => choice switch
    {
        "jit" => EngineKind.Jit,
        "interp" => EngineKind.Interpreter,
        _ => paths.Any(p => p == "-" || (File.Exists(p) && new FileInfo(p).Length >= 1 << 20)) ? EngineKind.Jit : EngineKind.Interpreter,
    };

    private sealed class Run(CliIO io, IRecordFilter filter, bool countOnly, bool keys, bool lenient)
    {
        private readonly BufferedStream _output = new(io.Stdout, 1 << 16);
        private readonly RecordBuilder _builder = new();
        // What a field-free filter (`true`) sees for an event without a record: every field 0 or empty.
        private static readonly byte[] NoRecord = new RecordBuilder().ToArray();
        private long _matched, _skipped;

        /// <summary>The events' time range in whole seconds, both ends included (ausearch's -ts/-te).</summary>
        public long From { get; init; } = long.MinValue;
        public long To { get; init; } = long.MaxValue;

        public int JsonLines(string[] paths)
        {
            foreach (var path in paths)
            {
                Stream stream;
                try { stream = path == "-" ? io.Stdin() : File.OpenRead(path); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { return Finish(CliIO.InputError, Diagnostic.CannotRead(path, e)); }
                using (stream)
                using (var reader = new JsonLinesReader(stream, path == "-" ? "<stdin>" : path) { Fields = filter.Program.FieldsRead })
                {
                    while (true)
                    {
                        var result = reader.Read(_builder);
                        if (result == ReadResult.End) break;
                        if (result == ReadResult.Error)
                        {
                            if (!Skip(reader.Error!)) return Finish(CliIO.InputError, reader.Error);
                            continue;
                        }
                        uint verdict = filter.Run(new Record(_builder.Build()));
                        if (verdict == 0) continue;
                        _matched++;
                        if (keys) WriteKey((ulong)reader.LineNumber, verdict);
                        else if (!countOnly) WriteLine(reader.Line);
                    }
                }
            }
            return Finish(CliIO.Ok, null);
        }

        public int Auditd(string[] paths)
        {
            var sources = paths.Select(p => p == "-"
                ? new AuditdSource("<stdin>", () => AuditdInput.Decompressing(io.Stdin()))
                : AuditdSource.File(p)).ToList();
            // An event without a record (no SYSCALL nor ANOM_ABEND: USER_*, LOGIN, ...) matches only a filter
            // that reads no field, such as `true`: it has no fields to test (spec/auditd.md).
            bool constant = !filter.Program.ReadsRecord;
            // Decode only the fields the filter reads; with --count, do not even keep the lines.
            using var reader = new AuditdReader(sources) { Fields = filter.Program.FieldsRead, KeepLines = !countOnly && !keys };
            while (true)
            {
                var result = reader.Read();
                if (result == ReadResult.End) break;
                if (result == ReadResult.Error)
                {
                    if (!Skip(reader.Error!)) return Finish(CliIO.InputError, reader.Error);
                    continue;
                }
                long seconds = (long)Math.Min(reader.EventId.Seconds, long.MaxValue);
                if (seconds < From || seconds > To) continue;
                uint verdict = reader.HasRecord ? filter.Run(new Record(reader.Record))
                    : constant ? filter.Run(new Record(NoRecord)) : 0;
                if (verdict == 0) continue;
                _matched++;
                if (keys) WriteKey(reader.EventId.Serial, verdict);
                if (countOnly || keys) continue;
                for (int i = 0; i < reader.LineCount; i++) WriteLine(reader.GetLine(i));
            }
            // Their path, dir and filetype tests saw only the first items (spec/record.md, "PATH items"): never silent.
            if (reader.EventsPastPathItems is > 0 and var past)
                io.Stderr.WriteLine($"warning: {past} event{(past == 1 ? " has" : "s have")} more than {RecordLayout.PathItems} PATH items; filters see the first {RecordLayout.PathItems}");
            return Finish(CliIO.Ok, null);
        }

        /// <summary>Whether to go on after <paramref name="error"/>: --lenient skips bad lines, never an input it cannot read.</summary>
        private bool Skip(Diagnostic error)
        {
            if (!lenient || !InputErrors.IsSkippable(error)) return false;
            _skipped++;
            CliDiagnostics.Write(io, DiagnosticsFormat.Text, [InputErrors.Skipped(error)]);
            return true;
        }

        private void WriteLine(ReadOnlySpan<byte> line)
        {
            _output.Write(line);
            _output.WriteByte((byte)'\n');
        }

        /// <summary>SERIAL, a tab, the key of the verdict, escaped so that it stays on its line (spec/auditd.md, "Keys").</summary>
        private void WriteKey(ulong serial, uint verdict)
        {
            var keys = filter.Program.Keys;
            string key = verdict <= keys.Count ? Filter.Compiler.Tools.PrintableText.Escape(keys[(int)verdict - 1]) : "";
            _output.Write(System.Text.Encoding.UTF8.GetBytes($"{serial}\t{key}\n"));
        }

        private int Finish(int code, Diagnostic? error)
        {
            if (countOnly && code == CliIO.Ok) _output.Write(System.Text.Encoding.ASCII.GetBytes($"{_matched}\n"));
            _output.Flush();
            if (_skipped > 0) io.Stderr.WriteLine($"warning: skipped {_skipped} malformed line{(_skipped == 1 ? "" : "s")}");
            if (error is not null) CliDiagnostics.Write(io, DiagnosticsFormat.Text, [error]);
            return code;
        }
    }
}
