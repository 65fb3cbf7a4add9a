using System.CommandLine;
using System.Runtime.InteropServices;
using Filter.Audit.Formats;
using Filter.Audit.Streaming;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc run</c>: prints the input records (JSON lines) or events (auditd logs) a filter matches, as
/// they are complete: their original lines unchanged and in input order, like grep (or interpreted as
/// ausearch -i prints them, or as JSON); or counts them; or, with <c>--keys</c>, prints for each match its
/// serial and the key of the deciding rule. <c>--follow</c> follows the last file as it grows, across
/// rotation.
/// </summary>
internal static class RunCommand
{
    public static Command Create(CliIO io)
    {
        var filter = FilterOptions.Create();
        var format = FormatOption();
        var engine = EngineOption();
        var count = new Option<bool>("--count") { Description = "print the number of matching records or events instead" };
        var keys = new Option<bool>("--keys") { Description = "print SERIAL<TAB>KEY per match instead: the event's serial (auditd) or the line number (jsonl), and the deciding rule's key" };
        var output = new Option<string>("--output") { Description = "how matches are printed: raw (the input's lines, unchanged), interpreted (as ausearch -i), json (one object per event)", DefaultValueFactory = _ => "raw" };
        output.AcceptOnlyFromAmong("raw", "interpreted", "json");
        var follow = new Option<bool>("--follow") { Description = "when the last file ends, wait for more and print it as it comes, across rotation (like tail -F); Ctrl-C ends" };
        var start = new Option<string?>("--start") { Description = "auditd: only events at or after this time, as ausearch -ts takes it ('today', 'recent', '12/06/2026 10:00', 2026-12-06T10:00:00, ...)" };
        var end = new Option<string?>("--end") { Description = "auditd: only events at or before this time, as ausearch -te takes it" };
        var lenient = LenientOption();
        var threads = new Option<int>("--threads")
        {
            Description = "threads that decode and filter one large auditd file in parallel chunks, the output unchanged (1: none)",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        threads.Validators.Add(v =>
        {
            if (v.GetValueOrDefault<int>() < 1) v.AddError("--threads must be at least 1");
        });
        // Tests only: chunks of this many bytes, whatever the file's size (spec/auditd.md, "Parallel runs").
        var chunkBytes = new Option<long?>("--chunk-bytes") { Hidden = true };
        var diagnostics = CliDiagnostics.Option();
        var inputs = InputsArgument();
        var cmd = new Command("run", "print the records or events a filter matches, unchanged (like grep), as they come")
            { filter.Expression, filter.File, filter.Program, format, engine, count, keys, output, follow, start, end, lenient, threads, chunkBytes, diagnostics, inputs };
        cmd.SetAction(r =>
        {
            if (filter.Source(r, io) is not { } source) return CliIO.UsageError;
            if (r.GetValue(count) && r.GetValue(keys)) return io.Usage("give --count or --keys, not both");
            bool printed = !r.GetValue(count) && !r.GetValue(keys);
            if (!printed && r.GetResult(output) is { Implicit: false }) return io.Usage("--output is for printed matches, not --count or --keys");
            var paths = Paths(r.GetValue(inputs));
            if (r.GetValue(follow) && paths[^1] == "-") return io.Usage("--follow follows a file: standard input is read as it comes without it");
            bool ranged = r.GetValue(start) is not null || r.GetValue(end) is not null;
            if (ranged && r.GetValue(format) == "jsonl")
                return io.Usage("--start and --end select events of an audit log by their time: give --format auditd (or auto)");
            long from = long.MinValue, to = long.MaxValue;
            if (r.GetValue(start) is { } s && !AusearchTime.TryParse(s, end: false, io.Clock, out from, out string startError))
                return io.Usage($"--start {startError}");
            if (r.GetValue(end) is { } e && !AusearchTime.TryParse(e, end: true, io.Clock, out to, out string endError))
                return io.Usage($"--end {endError}");
            if (FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics)).Program is not { } verified) return CliIO.UsageError;
            if (r.GetValue(chunkBytes) is < 1) return io.Usage("--chunk-bytes must be at least 1");
            // Called by a parallel run's workers too: the options are read here, once.
            (bool counting, bool keyed, string? shape) = (r.GetValue(count), r.GetValue(keys), r.GetValue(output));
            Func<MatchOutput, MatchSink> newSink = into => counting ? new MatchSink.Count(into)
                : keyed ? new MatchSink.Keys(into)
                : shape switch
                {
                    "interpreted" => new MatchSink.Interpreted(into),
                    "json" => new MatchSink.Json(into),
                    _ => new MatchSink.Raw(into, io.StdoutIsTerminal),
                };
            var parallel = r.GetValue(threads) > 1 ? Parallelism.For(r.GetValue(threads), newSink, smallOutput: counting || keyed, r.GetValue(chunkBytes)) : null;
            return Execute(io, verified, paths, Format(r.GetValue(format)), r.GetValue(follow), r.GetValue(engine)!, newSink(new MatchOutput.ToStream(io.Stdout)),
                r.GetValue(lenient), printed, ranged ? new EventTimes(from, to) : null, parallel);
        });
        return cmd;
    }

    /// <summary>
    /// Opens the inputs and runs the filter over them into <paramref name="sink"/>: the part of run that
    /// report shares. A streaming input (a pipe, a terminal, a followed file) ends on SIGINT, SIGTERM or
    /// SIGHUP, and what was matched is printed before exit (status 0).
    /// </summary>
    public static int Execute(CliIO io, VerifiedProgram program, string[] paths, InputFormat? format, bool follow, string engine,
        MatchSink sink, bool lenient, bool needsLines, EventTimes? times = null, Parallelism? parallel = null)
    {
        using var stop = new CancellationTokenSource();
        var signals = new List<PosixSignalRegistration>();
        void Streaming(IStreamingInput input)
        {
            input.BeforeWait = sink.Output.Flush;
            input.Stop = stop.Token;
            if (input is FollowedFile followed) followed.Notice = message => io.Stderr.WriteLine($"filterc: {message}");
            if (signals.Count > 0) return;
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
                signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // we end ourselves, once what was matched is printed
                    stop.Cancel();
                }));
        }
        try
        {
            if (RunInputs.Open(paths, format, follow, io, Streaming) is not { } inputs) return CliIO.InputError;
            var filterEngine = RecordFilters.Create(program, ChooseEngine(engine, paths, follow));
            if (engine == "jit" && filterEngine.Engine != EngineKind.Jit)
                io.Stderr.WriteLine("note: --engine jit is not available in this build (NativeAOT): using the interpreter");
            return new Matcher(io, filterEngine, sink, lenient) { NeedsLines = needsLines, Times = times, Parallel = parallel }.Run(inputs);
        }
        finally
        {
            foreach (var s in signals) s.Dispose();
        }
    }

    internal static string[] Paths(string[]? given) => given is { Length: > 0 } ? given : ["-"];

    internal static Option<string> FormatOption()
    {
        var format = new Option<string>("--format")
        {
            Description = "input format: auto (told from each input's first line), jsonl (records) or auditd (audit.log events)",
            DefaultValueFactory = _ => "auto",
        };
        format.AcceptOnlyFromAmong("auto", "jsonl", "auditd");
        return format;
    }

    internal static InputFormat? Format(string? value) => value switch
    {
        "jsonl" => InputFormat.JsonLines,
        "auditd" => InputFormat.Auditd,
        _ => null,
    };

    internal static Option<string> EngineOption()
    {
        var engine = new Option<string>("--engine") { Description = "interp, jit, or auto (the JIT unless the input is small)", DefaultValueFactory = _ => "auto" };
        engine.AcceptOnlyFromAmong("auto", "interp", "jit");
        return engine;
    }

    internal static Option<bool> LenientOption() => new("--lenient") { Description = "skip malformed lines with a warning (and count them) instead of stopping" };

    internal static Argument<string[]> InputsArgument() => new("input")
    {
        Arity = ArgumentArity.ZeroOrMore,
        Description = "input files (gzip-compressed too), or - for standard input (the default)",
    };

    /// <summary>
    /// The JIT costs a fraction of a millisecond to compile and wins after a few thousand records, so
    /// auto picks it for standard input and followed files (unknown size) and for inputs of at least 1 MiB.
    /// </summary>
    private static EngineKind ChooseEngine(string choice, string[] paths, bool follow) => choice switch
    {
        "jit" => EngineKind.Jit,
        "interp" => EngineKind.Interpreter,
        _ => follow || paths.Any(p => p == "-" || (File.Exists(p) && new FileInfo(p).Length >= 1 << 20)) ? EngineKind.Jit : EngineKind.Interpreter,
    };
}
