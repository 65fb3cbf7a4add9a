using System.CommandLine;
using System.Runtime.InteropServices;
using Filter.Audit.Formats;
using Filter.Audit.Ids;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Compiler;
using Filter.Kernel.Live;
using Filter.Kernel.Sys;

namespace Filter.Cli;

/// <summary>
/// <c>filterc ids</c>: the intrusion detector of spec/ids.md over auditd logs, live over the kernel's audit
/// stream, or with <c>--kernel</c> over the records its pre-filter selects in the kernel (eBPF: spec/kernel.md).
/// One line per alert on stdout (text or <c>--json</c>), a summary on stderr.
/// </summary>
internal static class IdsCommand
{
    public static Command Create(CliIO io)
    {
        var window = new Option<int>("--window") { Description = "alert when the SIGSEGV comes at most N system calls after the receive", DefaultValueFactory = _ => IdsOptions.DefaultWindow };
        var json = new Option<bool>("--json") { Description = "print alerts as JSON lines" };
        var scope = new Option<string?>("--scope") { Description = "a filter selecting processes whose every syscall is counted (e.g. 'true'; default: only the calls the IDS needs)" };
        var servers = new Option<string[]>("--server") { Description = "executable name of a super-server (repeatable; default: inetd, xinetd)", AllowMultipleArgumentsPerToken = true };
        var noAcceptFork = new Option<bool>("--no-accept-fork") { Description = "do not treat a process that accepts a connection and forks as a super-server" };
        var maxProcesses = new Option<int>("--max-processes") { Description = "track at most N processes", DefaultValueFactory = _ => new IdsOptions().MaxProcesses };
        var live = new Option<bool>("--live") { Description = "read the kernel's audit stream (the default when no file is given; needs root)" };
        var install = new Option<bool>("--install") { Description = "live: install kernel audit rules for the syscalls the IDS needs (removed on exit; not with --scope)" };
        var kernel = new Option<bool>("--kernel") { Description = "run the pre-filter in the kernel (eBPF at every system call's exit and at core-dumping signals; needs root, BPF and BTF; no audit rules)" };
        var installFields = TailCommand.InstallFieldOption();
        var lenient = new Option<bool>("--lenient") { Description = "skip malformed lines with a warning instead of stopping" };
        var inputs = new Argument<string[]>("logfile") { Arity = ArgumentArity.ZeroOrMore, Description = "auditd logs (gzip-compressed too), oldest first, or - for standard input" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("ids", "detect services of a network super-server that die of SIGSEGV soon after receiving data")
            { window, json, scope, servers, noAcceptFork, maxProcesses, live, install, kernel, installFields, lenient, diagnostics, inputs };
        cmd.SetAction(r =>
        {
            var options = new IdsOptions
            {
                Window = r.GetValue(window),
                MaxProcesses = r.GetValue(maxProcesses),
                Scope = r.GetValue(scope),
                AcceptThenFork = !r.GetValue(noAcceptFork),
            };
            if (r.GetValue(servers) is { Length: > 0 } names) options = options with { ServerNames = names };
            try { options.Validate(); }
            catch (ArgumentOutOfRangeException e) { return io.Usage($"--{Kebab(e.ParamName)}: {e.ActualValue} is out of range"); }
            var preFilter = IdsPreFilter.Compile(options.Scope);
            CliDiagnostics.Write(io, CliDiagnostics.Get(r, diagnostics), preFilter.Diagnostics);
            if (!preFilter.Success) return CliIO.UsageError;

            var files = r.GetValue(inputs) ?? [];
            if (r.GetValue(live) && files.Length > 0) return io.Usage("give log files or --live, not both");
            if (r.GetValue(install) && files.Length > 0) return io.Usage("--install is for the live stream, not log files");
            if (r.GetValue(kernel))
            {
                if (files.Length > 0) return io.Usage("--kernel reads the kernel, not log files");
                if (r.GetValue(install) || r.GetValue(installFields) is { Length: > 0 }) return io.Usage("--kernel needs no audit rules: not with --install or --install-field");
                return new Run(io, options, r.GetValue(json)).Kernel();
            }
            List<AuditRule>? rules = null;
            if (TailCommand.InstallFields(r.GetValue(installFields), r.GetValue(install), io) is not { } fields) return CliIO.UsageError;
            if (r.GetValue(install))
            {
                // A scope passes every syscall of its processes, which no syscall-number rule can select.
                if (options.Scope is not null) return io.Usage("--install cannot record a --scope's every syscall; add rules for it yourself (auditctl) and run without --install");
                rules = ExitRules.For(IdsPreFilter.KernelSyscalls(), ExitRules.UniqueKey("ids"), ExitRules.ReaderPids(), fields, out string? why);
                if (rules is null) return io.Usage($"--install: the IDS's syscalls {why}");
            }
            var run = new Run(io, options, r.GetValue(json));
            return files.Length == 0 ? run.Live(rules) : run.Logs(files, r.GetValue(lenient));
        });
        return cmd;
    }

    private static string Kebab(string? name) => name switch
    {
        nameof(IdsOptions.MaxProcesses) => "max-processes",
        _ => (name ?? "option").ToLowerInvariant(),
    };

    private sealed class Run(CliIO io, IdsOptions options, bool json)
    {
        private readonly StreamWriter _out = new(io.Stdout, new System.Text.UTF8Encoding(false), 1 << 12) { AutoFlush = false };

        private void Alert(IdsAlert alert)
        {
            _out.Write(json ? alert.ToJson() : alert.ToText());
            _out.Write('\n');
            _out.Flush();
        }

        public int Logs(string[] paths, bool lenient)
        {
            var sources = paths.Select(p => p == "-"
                ? new AuditdSource("<stdin>", () => AuditdInput.Decompressing(io.Stdin()))
                : AuditdSource.File(p)).ToList();
            var pipeline = new AuditPipeline();
            var ids = IdsSubscriber.Subscribe(pipeline, options, Alert);
            using var reader = new AuditdReader(sources);
            using var stop = new CancellationTokenSource();
            Diagnostic? fatal = null;
            long skipped = 0;
            IdsReplayResult result = default;
            try
            {
                result = IdsReplay.Run(reader, pipeline.CreateContext(), ids, e =>
                {
                    // --lenient skips bad lines, never an input it cannot read (spec/auditd.md, "Malformed input").
                    if (lenient && InputErrors.IsSkippable(e))
                    {
                        skipped++;
                        CliDiagnostics.Write(io, DiagnosticsFormat.Text, [InputErrors.Skipped(e)]);
                        return;
                    }
                    fatal = e;
                    stop.Cancel();
                }, stop.Token);
            }
            catch (OperationCanceledException) when (fatal is not null)
            {
            }
            pipeline.Complete();
            ids.Drain();
            _out.Flush();
            if (fatal is { } f)
            {
                return io.Fail(CliIO.InputError, f);
            }
            if (skipped > 0) io.Stderr.WriteLine($"warning: skipped {skipped} malformed line{(skipped == 1 ? "" : "s")}");
            io.Stderr.WriteLine($"filterc ids: {result.Events} events ({result.SyscallRecords} syscall records, {result.SignalRecords} ANOM_ABEND); " +
                Summary(ids));
            return CliIO.Ok;
        }

        private string Summary(IdsSubscriber ids)
        {
            var s = ids.Monitor.Stats;
            var sub = ids.Subscription.Stats;
            return $"{sub.Delivered} passed the pre-filter; {s.Receives} receive{(s.Receives == 1 ? "" : "s")} by services, " +
                $"{s.Alerts} alert{(s.Alerts == 1 ? "" : "s")} (window {options.Window}); processes tracked: at most {s.MaxTracked} " +
                $"(cap {options.MaxProcesses}), {s.Evicted} evicted, {s.Expired} expired, {s.PidReuses} pid reuses; {s.Lost} records lost";
        }

        /// <summary>
        /// The kernel engine through <see cref="KernelAuditSource"/>: the pre-filter, without this process's own
        /// calls, runs in the kernel at every system call's exit and at each core-dumping signal (the signal
        /// record audit's ANOM_ABEND is), and only what it passes reaches the IDS. Ends on Ctrl-C, SIGTERM, SIGHUP.
        /// </summary>
        public int Kernel()
        {
            if (!Environment.IsPrivilegedProcess)
                return io.Fail(CliIO.UsageError, new KernelError(KernelErrorKind.Permission,
                    "needs root (loading BPF programs needs CAP_BPF and CAP_PERFMON, attaching them CAP_SYS_ADMIN)").ToDiagnostic("filterc ids"));
            // The subscriber's filter is the pre-filter; the kernel's is the same without our own calls (we read no audit socket here, but do read).
            var kernelFilter = FilterProgram.Compile($"({IdsPreFilter.Source(options.Scope)}) && pid != {Environment.ProcessId}", "ids kernel filter");
            if (!kernelFilter.Success)
            {
                CliDiagnostics.Write(io, DiagnosticsFormat.Text, kernelFilter.Diagnostics);
                return CliIO.UsageError;
            }
            var pipeline = new AuditPipeline();
            var ids = IdsSubscriber.Subscribe(pipeline, options, Alert);
            var started = KernelAuditSource.Start(pipeline, kernelFilter.Program!, new KernelTraceOptions { Signals = true });
            if (!started.Ok) return io.Fail(CliIO.UsageError, started.Error!.ToDiagnostic("filterc ids"));
            using var source = started.Value;
            using var cts = new CancellationTokenSource();
            var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
                .Select(signal => PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true;
                    cts.Cancel();
                })).ToList();
            try
            {
                io.Stderr.WriteLine($"filterc ids: attached in the kernel, listening (window {options.Window}; Ctrl-C to stop)");
                var reader = source.RunAsync(cts.Token);
                var completion = reader.ContinueWith(_ => pipeline.Complete(), TaskScheduler.Default);
                ids.RunAsync().GetAwaiter().GetResult();
                reader.GetAwaiter().GetResult();
                completion.GetAwaiter().GetResult();
            }
            finally
            {
                foreach (var s in signals) s.Dispose();
            }
            _out.Flush();
            var st = source.KernelStats;
            io.Stderr.WriteLine($"filterc ids: the kernel filter ran on {st.Seen} system calls, {st.Matched} records passed (lost {st.Lost}); {Summary(ids)}");
            return CliIO.Ok;
        }

        /// <summary>
        /// The kernel's stream through <see cref="NetlinkAuditSource"/>: the records the rules in place produce,
        /// plus those of <paramref name="rules"/> (--install), added before listening and removed, exactly, at the
        /// end (spec/ids.md, "Live"). Ends on Ctrl-C, SIGTERM, SIGHUP.
        /// </summary>
        public int Live(List<AuditRule>? rules)
        {
            var pipeline = new AuditPipeline();
            // Our own reads of the audit socket must not feed the IDS (nor, through it, more records).
            pipeline.SetAuditing((uint)Environment.ProcessId, false);
            var ids = IdsSubscriber.Subscribe(pipeline, options, Alert);
            NetlinkAuditSource source;
            try
            {
                source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 16 });
            }
            catch (AuditUnavailableException e)
            {
                return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.AuditUnavailable, e.Message).In("filterc ids"));
            }
            using (source)
            {
                ids.EventOf = serial => source.TryGetEvent(serial, out var ev) ? ev.Id : null;
                using var cts = new CancellationTokenSource();
                var signals = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }
                    .Select(signal => PosixSignalRegistration.Create(signal, context =>
                    {
                        context.Cancel = true;
                        cts.Cancel();
                    })).ToList();
                var installed = new List<AuditRule>();
                AuditControl? control = null;
                try
                {
                    if (rules is not null)
                    {
                        control = AuditControl.Open();
                        ExitRules.Install(control, rules, installed);
                        io.Stderr.WriteLine($"filterc ids: installed {installed.Count} audit rule{(installed.Count == 1 ? "" : "s")} with key {rules[0].Key}: " +
                            string.Join("; ", installed.Select(ExitRules.Describe)));
                    }
                    io.Stderr.WriteLine($"filterc ids: listening (window {options.Window}; Ctrl-C to stop)");
                    var reader = source.RunAsync(cts.Token);
                    var completion = reader.ContinueWith(_ => pipeline.Complete(), TaskScheduler.Default);
                    ids.RunAsync().GetAwaiter().GetResult();
                    reader.GetAwaiter().GetResult();
                    completion.GetAwaiter().GetResult();
                }
                catch (AuditUnavailableException e)
                {
                    cts.Cancel();
                    _out.Flush();
                    return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.AuditUnavailable, e.Message).In("filterc ids"));
                }
                finally
                {
                    if (control is not null && installed.Count > 0)
                    {
                        int removed = ExitRules.Remove(control, installed, message => io.Stderr.WriteLine($"filterc ids: {message}"));
                        io.Stderr.WriteLine($"filterc ids: removed {removed} of {installed.Count} audit rule{(installed.Count == 1 ? "" : "s")} (key {installed[0].Key})");
                    }
                    control?.Dispose();
                    foreach (var s in signals) s.Dispose();
                }
                _out.Flush();
                var st = source.Stats;
                io.Stderr.WriteLine($"filterc ids: {st.Events} events ({st.Committed} records); {Summary(ids)} " +
                    $"(kernel lost {st.KernelLost}, socket dropped {st.SocketDropped} in {st.Overruns} overruns, assembly lost {st.AssemblyLost})");
                return CliIO.Ok;
            }
        }
    }
}
