using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Compiler;
using Filter.Compiler.Analysis;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc tail</c>: the live kernel audit stream (spec/live.md), filtered before anything is printed.
/// Ctrl-C, SIGTERM or SIGHUP end it with a summary on stderr; rules it installed are removed on every exit
/// path the process survives.
/// </summary>
internal static class TailCommand
{
    private const int QueueCapacity = 8192;

    public static Command Create(CliIO io)
    {
        var filter = new Option<string?>("--filter") { Description = "the filter expression" };
        var file = new Option<FileInfo?>("--file", "-f") { Description = "read the filter or policy from FILE" };
        var format = new Option<string>("--format") { Description = "output: auditd (the event's lines, as auditd logs them) or jsonl (records)", DefaultValueFactory = _ => "auditd" };
        format.AcceptOnlyFromAmong("auditd", "jsonl");
        var engine = new Option<string>("--engine") { Description = "interp, jit, or auto (the JIT)", DefaultValueFactory = _ => "auto" };
        engine.AcceptOnlyFromAmong("auto", "interp", "jit");
        var install = new Option<bool>("--install")
        { Description = "install a kernel audit rule for exactly the syscalls the filter can match (removed on exit)" };
        var installFields = InstallFieldOption();
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("tail", "print the kernel's audit events that match a filter, as they happen (needs root)")
            { filter, file, format, engine, install, installFields, diagnostics };
        cmd.SetAction(r =>
        {
            if (FilterLoading.Source(r.GetValue(filter), r.GetValue(file), io) is not { } source) return CliIO.UsageError;
            var loaded = FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics));
            if (loaded.Program is not { } program) return CliIO.UsageError;
            var compilation = loaded.Compilation;
            List<AuditRule>? rules = null;
            if (InstallFields(r.GetValue(installFields), r.GetValue(install), io) is not { } fields) return CliIO.UsageError;
            if (r.GetValue(install))
            {
                rules = RulesFor(compilation!, fields, io);
                if (rules is null) return CliIO.UsageError;
            }
            var kind = r.GetValue(engine) == "interp" ? EngineKind.Interpreter : EngineKind.Jit;
            return new Tail(io, RecordFilters.Create(program, kind), r.GetValue(format) == "jsonl").Run(rules);
        });
        return cmd;
    }

    /// <summary>
    /// One exit rule per arch of this machine (native and compat) for the syscalls the filter can match there,
    /// excluding this process and auditd (their reads of the audit socket must not make records: spec/live.md), or null
    /// (with the reason printed) when that set is unbounded: a rule for every syscall would make the kernel
    /// record everything, so --install refuses rather than flood the audit queue.
    /// </summary>
    internal static List<AuditRule>? RulesFor(Compilation compilation, IReadOnlyList<AuditRuleField> fields, CliIO io)
    {
        var sets = compilation.Policy is { } policy ? SyscallAnalysis.For(policy) : SyscallAnalysis.For(compilation.Bound!);
        var rules = ExitRules.For(sets, ExitRules.UniqueKey("tail"), ExitRules.ReaderPids(), fields, out string? error);
        if (rules is null)
            io.Usage($"--install: the filter {error}" + (error!.StartsWith("can match any", StringComparison.Ordinal)
                ? "; add a syscall condition (e.g. 'syscall in (execve, openat) && ...'), or run without --install" : ""));
        return rules;
    }

    /// <summary><c>--install-field NAME=VALUE</c> (tail and ids): a process condition every installed rule tests too.</summary>
    internal static Option<string[]> InstallFieldOption() => new("--install-field")
    {
        Description = "with --install: every rule also tests this process field, auditctl -F style (pid, ppid, uid, auid, ses; = or !=; repeatable)",
    };

    /// <summary>The parsed <c>--install-field</c> values, or null (with the reason printed) if one is bad or given without --install.</summary>
    internal static List<AuditRuleField>? InstallFields(string[]? texts, bool install, CliIO io)
    {
        var fields = new List<AuditRuleField>();
        if (texts is not { Length: > 0 }) return fields;
        if (!install)
        {
            io.Usage("--install-field is for the rules of --install");
            return null;
        }
        foreach (var text in texts)
        {
            if (!AuditRuleField.TryParse(text, out var field, out string? error))
            {
                io.Usage($"--install-field: {error}");
                return null;
            }
            fields.Add(field);
        }
        return fields;
    }

    private sealed class Tail(CliIO io, IRecordFilter filter, bool jsonl)
    {
        private readonly BufferedStream _output = new(io.Stdout, 1 << 16);
        private long _matched, _queueLost, _upstreamLost, _textGone;

        public int Run(List<AuditRule>? rules)
        {
            var pipeline = new AuditPipeline();
            // Our own syscalls (reading the audit socket, writing the output) never reach the filter: where a
            // rule of the host's records them, each event we print would make more events (spec/live.md).
            pipeline.SetAuditing((uint)Environment.ProcessId, false);
            var subscription = pipeline.Subscribe("tail", filter, QueueCapacity);
            NetlinkAuditSource source;
            try
            {
                source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions
                {
                    KeepEvents = jsonl ? 0 : 4 * QueueCapacity,
                    // auditd output prints the event's text, so only what the filter reads is decoded; jsonl prints the record.
                    Fields = jsonl ? null : filter.Program.FieldsRead,
                });
            }
            catch (AuditUnavailableException e)
            {
                return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.AuditUnavailable, e.Message).In("filterc tail"));
            }
            using var cts = new CancellationTokenSource();
            var signals = new List<PosixSignalRegistration>();
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
                signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // we end ourselves, after removing our rules
                    cts.Cancel();
                }));
            var installed = new List<AuditRule>();
            AuditControl? control = null;
            try
            {
                source.MalformedEvent += message => io.Stderr.WriteLine($"filterc tail: warning: {message} (skipped)");
                if (rules is not null)
                {
                    control = AuditControl.Open();
                    ExitRules.Install(control, rules, installed);
                    io.Stderr.WriteLine($"filterc tail: installed {installed.Count} audit rule{(installed.Count == 1 ? "" : "s")} with key {rules[0].Key} " +
                        $"(pid {string.Join(", ", rules[0].Fields.Where(f => f == AuditRuleField.NotEqual(AuditRule.FieldPid, f.Value)).Select(f => f.Value))} excluded: this process and auditd): " +
                        string.Join("; ", installed.Select(ExitRules.Describe)));
                }
                io.Stderr.WriteLine("filterc tail: listening (Ctrl-C to stop)");
                var reader = source.RunAsync(cts.Token);
                // The pipeline completes when the source stops, so the consumer drains what is queued and ends.
                var completion = reader.ContinueWith(_ => pipeline.Complete(), TaskScheduler.Default);
                Consume(subscription, source);
                reader.GetAwaiter().GetResult();
                completion.GetAwaiter().GetResult();
                return Summary(source, CliIO.Ok);
            }
            catch (AuditUnavailableException e)
            {
                cts.Cancel();
                _output.Flush();
                return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.AuditUnavailable, e.Message).In("filterc tail"));
            }
            finally
            {
                RemoveRules(control, installed);
                control?.Dispose();
                source.Dispose();
                foreach (var s in signals) s.Dispose();
            }
        }

        private void RemoveRules(AuditControl? control, List<AuditRule> installed)
        {
            if (control is null || installed.Count == 0) return;
            int removed = ExitRules.Remove(control, installed, message => io.Stderr.WriteLine($"filterc tail: {message}"));
            io.Stderr.WriteLine($"filterc tail: removed {removed} of {installed.Count} audit rule{(installed.Count == 1 ? "" : "s")} (key {installed[0].Key})");
        }

        private void Consume(Subscription subscription, NetlinkAuditSource source)
        {
            var json = jsonl ? new Utf8JsonWriter(_output) : null;
            while (subscription.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (subscription.TryRead(out var item))
                {
                    if (item.Kind == AuditEventKind.RecordsLost)
                    {
                        _queueLost += item.LostCount - item.UpstreamLostCount;
                        _upstreamLost += item.UpstreamLostCount;
                        _output.Flush();
                        io.Stderr.WriteLine($"filterc tail: {item.LostCount} record{(item.LostCount == 1 ? "" : "s")} lost" +
                            (item.UpstreamLostCount > 0 ? $" ({item.UpstreamLostCount} by the kernel or the socket)" : " (output too slow)"));
                        continue;
                    }
                    _matched++;
                    if (json is not null)
                    {
                        RecordJson.Write(json, item.Record);
                        json.Flush();
                        json.Reset();
                        _output.WriteByte((byte)'\n');
                    }
                    else if (source.TryGetEvent(item.Serial, out var ev)) ev.WriteAuditd(_output);
                    else _textGone++;
                }
                _output.Flush(); // nothing more queued: show what we have
            }
        }

        private int Summary(NetlinkAuditSource source, int code)
        {
            _output.Flush();
            var s = source.Stats;
            io.Stderr.WriteLine($"filterc tail: {s.Events} events seen ({s.Committed} with a record to filter), {_matched} matched; " +
                $"lost: {s.KernelLost} by the kernel, {s.SocketDropped} by the socket ({s.Overruns} overruns), {s.AssemblyLost} in assembly, {_queueLost} in our queue" +
                (_textGone > 0 ? $"; {_textGone} matched events no longer held to print" : ""));
            return code;
        }
    }
}
