using System.CommandLine;
using System.Runtime.InteropServices;
using Filter.Audit.Formats;
using Filter.Audit.Output;
using Filter.Audit.Streaming;
using Filter.Compiler;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc plugin</c>: filterc as an auditd plugin (auditd-plugins(5), <c>format = string</c>). auditd
/// starts it and writes every record to its standard input as a line of its log, ending each system call's
/// records with EOE; each event a policy matches is written, as it is complete, to a file, syslog or
/// standard output, as auditd logs it or as JSON (spec/plugin.md). It never stops for a bad line (it
/// warns on standard error and reads on); SIGHUP reloads the policy and reopens the output file (after
/// logrotate), SIGTERM ends it, as does the end of its input.
/// </summary>
internal static class PluginCommand
{
    public static Command Create(CliIO io)
    {
        var filter = FilterOptions.Create();
        var to = new Option<string>("--to")
        {
            Description = "where matches go: stdout, syslog (or syslog:FACILITY, e.g. syslog:local6; default user), or a FILE (appended to)",
            DefaultValueFactory = _ => "stdout",
        };
        var output = new Option<string>("--output") { Description = "how matches are written: raw (as auditd logs them), json (one object per event), interpreted (as ausearch -i)", DefaultValueFactory = _ => "raw" };
        output.AcceptOnlyFromAmong("raw", "json", "interpreted");
        var socket = new Option<string>("--syslog-socket") { Description = "the syslog daemon's socket", DefaultValueFactory = _ => SyslogWriter.DefaultSocket };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("plugin", "run as an auditd plugin: read events on standard input, write those a policy matches (see plugins.d/filterc.conf)")
            { filter.Expression, filter.File, filter.Program, to, output, socket, diagnostics };
        cmd.SetAction(r =>
        {
            if (filter.Source(r, io) is not { } source) return CliIO.UsageError;
            var format = CliDiagnostics.Get(r, diagnostics);
            if (FilterLoading.Load(source, io, format).Program is not { } program) return CliIO.UsageError;
            if (r.GetValue(to) is not { } target) return CliIO.UsageError;
            if (Destination(target, r.GetValue(socket)!, io, out int failed) is not { } destination) return failed;
            return new Plugin(io, source, format, destination, r.GetValue(output)!).Run(program);
        });
        return cmd;
    }

    /// <summary>The output <c>--to</c> names, or null with the problem printed and its exit status in <paramref name="failed"/>.</summary>
    private static MatchOutput? Destination(string to, string socket, CliIO io, out int failed)
    {
        failed = CliIO.UsageError;
        if (to == "stdout") return new MatchOutput.ToStream(io.Stdout);
        if (to == "syslog" || to.StartsWith("syslog:", StringComparison.Ordinal))
        {
            string facility = to == "syslog" ? "user" : to["syslog:".Length..];
            if (!SyslogWriter.Facilities.TryGetValue(facility, out int number))
            {
                io.Usage($"--to: unknown syslog facility '{facility}' (one of {string.Join(", ", SyslogWriter.Facilities.Keys)})");
                return null;
            }
            return new MatchOutput.ToSyslog(new SyslogWriter(socket, number, "filterc"));
        }
        var file = new MatchOutput.ToFile(to);
        if (file.Error is { } e)
        {
            failed = io.Fail(CliIO.InputError, CliIO.CannotWrite(to, e)); // an I/O error, as the README says
            return null;
        }
        return file;
    }

    private sealed class Plugin(CliIO io, FilterSource source, DiagnosticsFormat format, MatchOutput destination, string output)
    {
        private volatile bool _reload;

        public int Run(VerifiedProgram program)
        {
            using var stop = new CancellationTokenSource();
            var signals = new List<PosixSignalRegistration>
            {
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop),
                PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
                {
                    context.Cancel = true;
                    _reload = true;
                }),
            };
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true; // we end ourselves, once what was matched is written
                stop.Cancel();
            }
            try
            {
                MatchSink sink = output switch
                {
                    "json" => new MatchSink.Json(destination),
                    "interpreted" => new MatchSink.Interpreted(destination),
                    _ => new MatchSink.Raw(destination, terminal: false),
                };
                void Streaming(IStreamingInput input)
                {
                    input.BeforeWait = destination.Flush;
                    input.Stop = stop.Token;
                }
                if (RunInputs.Open(["-"], InputFormat.Auditd, follow: false, io, Streaming) is not { } inputs) return CliIO.InputError;
                var matcher = new Matcher(io, RecordFilters.Create(program, EngineKind.Jit), sink, lenient: true) { FieldsOfFilterOnly = false };
                matcher.BetweenEvents = () =>
                {
                    if (!_reload) return;
                    _reload = false;
                    Reload(matcher);
                };
                return matcher.Run(inputs);
            }
            finally
            {
                foreach (var s in signals) s.Dispose();
                destination.Dispose();
            }
        }

        /// <summary>SIGHUP: the policy read again (kept as it was if the new one does not load), the output file reopened.</summary>
        private void Reload(Matcher matcher)
        {
            var loaded = FilterLoading.Load(source, io, format);
            if (loaded.Program is { } program)
            {
                matcher.Filter = RecordFilters.Create(program, EngineKind.Jit);
                io.Stderr.WriteLine($"filterc plugin: reloaded {source.Name}");
            }
            else io.Stderr.WriteLine($"filterc plugin: {source.Name} did not load: the policy before it stays in use");
            if (destination is MatchOutput.ToFile file) file.Reopen();
        }
    }
}
