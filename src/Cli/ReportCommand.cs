using System.CommandLine;
using Filter.Audit.Output;

namespace Filter.Cli;

/// <summary>
/// <c>filterc report</c>: counts the events (or records) a filter matches per audit key, rule key, system
/// call, executable, command, user, login user or success, as aureport's summaries do
/// (<see cref="EventReport"/>). Without a filter every event counts.
/// </summary>
internal static class ReportCommand
{
    private static readonly ReportBy[] Default = [ReportBy.Key, ReportBy.Syscall, ReportBy.Exe, ReportBy.Uid, ReportBy.Success];

    public static Command Create(CliIO io)
    {
        var filter = FilterOptions.Create();
        filter.Expression.Description = "count only the events this filter matches (default: every event)";
        var by = new Option<string[]>("--by")
        {
            Description = "what to count by, one table each, comma-separated or repeated: key (the logged audit key), rule (the matching rule's key), syscall, exe, comm, uid, auid, success (default: key,syscall,exe,uid,success)",
        };
        var names = Enum.GetNames<ReportBy>().Select(n => n.ToLowerInvariant()).ToList();
        by.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
                foreach (var name in token.Value.Split(','))
                    if (!names.Contains(name)) result.AddError($"'{name}' is not one of {string.Join(", ", names)}");
        });
        var json = new Option<bool>("--json") { Description = "print the counts as one JSON object" };
        var format = RunCommand.FormatOption();
        var engine = RunCommand.EngineOption();
        var lenient = RunCommand.LenientOption();
        var diagnostics = CliDiagnostics.Option();
        var inputs = RunCommand.InputsArgument();
        var cmd = new Command("report", "count the matching events per key, syscall, executable, user or success (like aureport)")
            { filter.Expression, filter.File, filter.Program, by, json, format, engine, lenient, diagnostics, inputs };
        cmd.SetAction(r =>
        {
            if (filter.Source(r, io, otherwise: "true") is not { } source) return CliIO.UsageError;
            if (FilterLoading.Load(source, io, CliDiagnostics.Get(r, diagnostics)).Program is not { } verified) return CliIO.UsageError;
            var fields = r.GetValue(by) is { Length: > 0 } given
                ? given.SelectMany(b => b.Split(',')).Select(b => Enum.Parse<ReportBy>(b, ignoreCase: true)).Distinct().ToList()
                : [.. Default];
            var sink = new MatchSink.Report(new MatchOutput.ToStream(io.Stdout), new EventReport(fields), r.GetValue(json));
            return RunCommand.Execute(io, verified, RunCommand.Paths(r.GetValue(inputs)), RunCommand.Format(r.GetValue(format)),
                follow: false, r.GetValue(engine)!, sink, r.GetValue(lenient), needsLines: true);
        });
        return cmd;
    }
}
