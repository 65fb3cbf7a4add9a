using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Filter.Kernel.Live;
using Filter.Kernel.Sys;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc trace</c>: the filter runs in the kernel at every system call's exit (spec/kernel.md) and only
/// the calls it matches reach this process, which prints them as they happen. Ctrl-C, SIGTERM or SIGHUP
/// detach and print a summary on stderr; everything attached is held by descriptors, so it is gone when the
/// process ends, however it ends.
/// </summary>
internal static class TraceCommand
{
    public static Command Create(CliIO io)
    {
        var filter = new Option<string?>("--filter") { Description = "the filter expression" };
        var file = new Option<FileInfo?>("--file", "-f") { Description = "read the filter or policy from FILE" };
        var format = new Option<string>("--format") { Description = "output: jsonl (records, as run --format jsonl reads them) or auditd (SYSCALL lines as auditd logs them)", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong("jsonl", "auditd");
        var count = new Option<bool>("--count") { Description = "print only the number of matching calls, at the end" };
        var keys = new Option<bool>("--keys") { Description = "print SERIAL<TAB>KEY per match instead: the match's serial and the deciding rule's key" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("trace", "print the system calls that match a filter as they happen, filtered in the kernel by eBPF (needs root)")
            { filter, file, format, count, keys, diagnostics };
        cmd.SetAction(r =>
        {
            if (FilterLoading.Source(r.GetValue(filter), r.GetValue(file), io) is not { } source) return CliIO.UsageError;
            if (r.GetValue(count) && r.GetValue(keys)) return io.Usage("give --count or --keys, not both");
            if (FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics)).Program is not { } program) return CliIO.UsageError;
            var output = r.GetValue(count) ? Output.Count : r.GetValue(keys) ? Output.Keys : r.GetValue(format) == "auditd" ? Output.Auditd : Output.Jsonl;
            return new Trace(io, program, output).Run();
        });
        return cmd;
    }

    private enum Output { Jsonl, Auditd, Count, Keys }

    private sealed class Trace(CliIO io, VerifiedProgram program, Output output)
    {
        private readonly BufferedStream _out = new(io.Stdout, 1 << 16);
        private readonly Utf8JsonWriter _json = new(Stream.Null);
        private readonly StringBuilder _line = new();
        private ulong _serial;

        public int Run()
        {
            if (!Environment.IsPrivilegedProcess)
                return io.Fail(CliIO.UsageError, new KernelError(KernelErrorKind.Permission,
                    "needs root (loading BPF programs needs CAP_BPF and CAP_PERFMON, attaching them CAP_SYS_ADMIN)").ToDiagnostic("filterc trace"));
            var started = KernelTrace.Start(program);
            if (!started.Ok)
            {
                var e = started.Error!;
                io.Fail(CliIO.UsageError, e.ToDiagnostic("filterc trace"));
                if (e.VerifierLog is { } log && Environment.GetEnvironmentVariable("FILTERC_VERIFIER_LOG") is { Length: > 0 } path)
                {
                    File.WriteAllText(path, log);
                    io.Stderr.WriteLine($"filterc trace: the verifier's whole log is in {path}");
                }
                return CliIO.UsageError;
            }
            using var trace = started.Value;
            using var cts = new CancellationTokenSource();
            var signals = new List<PosixSignalRegistration>();
            foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP })
                signals.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true; // we end ourselves, after detaching and the summary
                    cts.Cancel();
                }));
            try
            {
                io.Stderr.WriteLine($"filterc trace: attached ({trace.ExitProgramLength} eBPF instructions at sys_exit; Ctrl-C to stop)");
                KernelEventHandler print = Print;
                while (!cts.IsCancellationRequested)
                {
                    if (trace.Read(print, 100) == 0) _out.Flush();
                }
                while (trace.Read(print, 0) > 0) { }
                var stats = trace.Stats;
                if (output == Output.Count) WriteLine(_serial.ToString(CultureInfo.InvariantCulture));
                _out.Flush();
                io.Stderr.WriteLine($"filterc trace: the filter ran on {stats.Seen} system calls ({stats.Gathered} gathered), {stats.Matched} matched; lost: {stats.Lost}");
                return CliIO.Ok;
            }
            finally
            {
                foreach (var s in signals) s.Dispose();
            }
        }

        private void Print(in KernelEvent e)
        {
            _serial++;
            switch (output)
            {
                case Output.Count:
                    return;
                case Output.Keys:
                    var keys = program.Keys;
                    WriteLine($"{_serial.ToString(CultureInfo.InvariantCulture)}\t{(e.Verdict >= 1 && e.Verdict <= keys.Count ? keys[(int)e.Verdict - 1] : "")}");
                    return;
                case Output.Jsonl:
                    _json.Reset(_out);
                    RecordJson.Write(_json, e.Record);
                    _json.Flush();
                    _out.WriteByte((byte)'\n');
                    return;
                default:
                    WriteLine(AuditdLine(e));
                    return;
            }
        }

        private void WriteLine(string text)
        {
            _out.Write(Encoding.UTF8.GetBytes(text));
            _out.WriteByte((byte)'\n');
        }

        /// <summary>The record as auditd logs a SYSCALL record (a0-a3 in hex; strings quoted, or hex when they hold a quote, a space or a control byte).</summary>
        private string AuditdLine(in KernelEvent e)
        {
            var r = e.Record;
            var sb = _line.Clear();
            var inv = CultureInfo.InvariantCulture;
            long ms = e.Timestamp / 1_000_000;
            sb.Append(inv, $"type=SYSCALL msg=audit({ms / 1000}.{ms % 1000:D3}:{_serial}): arch={r.Arch:x} syscall={r.Syscall} success={(r.Success ? "yes" : "no")} exit={r.Exit}");
            for (int i = 0; i < 4; i++) sb.Append(inv, $" a{i}={r.U64(RecordLayout.A0 + 8 * i):x}");
            sb.Append(inv, $" ppid={r.U32(RecordLayout.Ppid)} pid={r.U32(RecordLayout.Pid)} auid={r.U32(RecordLayout.Auid)} uid={r.U32(RecordLayout.Uid)} gid={r.U32(RecordLayout.Gid)}");
            sb.Append(inv, $" euid={r.U32(RecordLayout.Euid)} suid={r.U32(RecordLayout.Suid)} fsuid={r.U32(RecordLayout.Fsuid)} egid={r.U32(RecordLayout.Egid)} sgid={r.U32(RecordLayout.Sgid)} fsgid={r.U32(RecordLayout.Fsgid)}");
            sb.Append(inv, $" ses={r.U32(RecordLayout.Ses)} comm=");
            AppendString(sb, r.Comm);
            sb.Append(" exe=");
            AppendString(sb, r.Exe);
            var keys = program.Keys;
            string key = e.Verdict >= 1 && e.Verdict <= keys.Count ? keys[(int)e.Verdict - 1] : "";
            sb.Append(" key=");
            if (key.Length == 0) sb.Append("(null)");
            else AppendString(sb, Encoding.UTF8.GetBytes(key));
            return sb.ToString();
        }

        private static void AppendString(StringBuilder sb, ReadOnlySpan<byte> value)
        {
            bool plain = true;
            foreach (byte b in value) if (b <= 0x20 || b >= 0x7f || b == '"') { plain = false; break; }
            if (plain) sb.Append('"').Append(Encoding.UTF8.GetString(value)).Append('"');
            else foreach (byte b in value) sb.Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
    }
}
