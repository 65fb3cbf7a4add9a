using System.CommandLine;
using System.Globalization;
using System.Text;
using Filter.Audit.Formats;
using Filter.Compiler.Tools;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc explain POLICY (--record JSON | --event SERIAL LOGFILE) [--json]</c>: which rule decided one record,
/// and the value of every sub-expression evaluated on the way, in source terms (spec/tools.md).
/// </summary>
internal static class ExplainCommand
{
    public static Command Create(CliIO io)
    {
        var policyFile = new Argument<FileInfo?>("policy") { Arity = ArgumentArity.ZeroOrOne, Description = "the policy (or filter) file" };
        var filter = new Option<string?>("--filter") { Description = "the filter expression, instead of a file" };
        var record = new Option<string?>("--record") { Description = "the record: one JSON line, as in run --format jsonl" };
        var @event = new Option<string[]>("--event")
        {
            Description = "the record of event SERIAL in auditd log LOGFILE",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
        };
        @event.HelpName = "SERIAL LOGFILE";
        var asJson = new Option<bool>("--json") { Description = "print the explanation as JSON (schema: spec/tools.md)" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("explain", "show which rule decides a record, and why, sub-expression by sub-expression")
            { policyFile, filter, record, @event, asJson, diagnostics };
        cmd.SetAction(r =>
        {
            if (FilterLoading.Source(r.GetValue(filter), r.GetValue(policyFile), io) is not { } source) return CliIO.UsageError;
            var events = r.GetValue(@event);
            if ((r.GetValue(record) is null) == (events is null or { Length: 0 }))
                return io.Usage("give exactly one of --record JSON or --event SERIAL LOGFILE");
            var loaded = FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics));
            if (!loaded.Success) return CliIO.UsageError;
            var (compilation, name) = (loaded.Compilation, source.Name);
            var bytes = r.GetValue(record) is { } json ? FromJson(json, loaded.Program!.FieldsRead, io) : FromLog(events![0], events[1], io);
            if (bytes is null) return CliIO.InputError;
            var explanation = PolicyExplainer.Explain(compilation!, new Record(bytes));
            io.WriteText(r.GetValue(asJson) ? explanation.Json(name) : explanation.Render());
            return CliIO.Ok;
        });
        return cmd;
    }

    private static byte[]? FromJson(string json, IEnumerable<string> fieldsRead, CliIO io)
    {
        using var reader = new JsonLinesReader(new MemoryStream(Encoding.UTF8.GetBytes(json)), "--record") { Fields = fieldsRead };
        var builder = new RecordBuilder();
        var result = reader.Read(builder);
        if (result == ReadResult.Error) { io.Fail(CliIO.InputError, reader.Error!); return null; }
        if (result == ReadResult.End) { io.Fail(CliIO.InputError, NotFound("--record", "no record (give one JSON object)")); return null; }
        return builder.ToArray();
    }

    private static byte[]? FromLog(string serialText, string path, CliIO io)
    {
        if (!ulong.TryParse(serialText, NumberStyles.None, CultureInfo.InvariantCulture, out ulong serial))
        {
            io.Usage($"--event: '{serialText}' is not an event serial number");
            return null;
        }
        try
        {
            using var reader = new AuditdReader([AuditdSource.File(path)]) { KeepLines = false };
            var builder = new RecordBuilder();
            while (true)
            {
                var result = reader.Read(builder);
                if (result == ReadResult.End) break;
                if (result == ReadResult.Error) { io.Fail(CliIO.InputError, reader.Error!); return null; }
                if (reader.EventId.Serial != serial) continue;
                if (reader.HasRecord) return builder.ToArray();
                io.Fail(CliIO.InputError, NotFound(path, $"event {serial} has no SYSCALL or signal record to filter"));
                return null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            io.Fail(CliIO.InputError, Diagnostic.CannotRead(path, e));
            return null;
        }
        io.Fail(CliIO.InputError, NotFound(path, $"no event with serial {serial}"));
        return null;
    }

    private static Diagnostic NotFound(string file, string message) =>
        new Diagnostic(DiagnosticCode.NotFound, default(DiagnosticLocation), message).In(file);
}
