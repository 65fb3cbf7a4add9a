using System.CommandLine;
using Filter.Compiler.Import;
using Filter.VM;

namespace Filter.Cli;

/// <summary>
/// <c>filterc import-auditctl FILE.rules</c>: an auditctl rules file as a policy (spec/auditctl.md,
/// "Importing"). The policy goes to standard output (or -o FILE); every line that is not imported, or not
/// exactly, is reported on standard error with its position. Exit status: 0 when the policy was written
/// (warnings and notes do not change it), 2 when a line is invalid (auditctl would reject it), with
/// <c>--strict</c> also when a rule could not be imported exactly, or for a bad command line.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliIO io)
    {
        var input = new Argument<FileInfo>("rules") { Description = "an auditctl rules file (the format of /etc/audit/rules.d/*.rules)" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "write the policy to FILE instead of standard output" };
        var strict = new Option<bool>("--strict") { Description = "fail (status 2) if any rule cannot be imported exactly" };
        var hostArch = new Option<string?>("--host-arch") { Description = "the arch auditctl runs on: names without -F arch= are its numbers (default: this machine's)" };
        hostArch.AcceptOnlyFromAmong([.. AuditArch.All.Select(a => a.Name)]);
        var exeMap = new Option<FileInfo?>("--exe-map") { Description = "resolve -F exe= paths from FILE (PATH<TAB>LOGGED-PATH, - for a symlink) instead of this file system" };
        var hostMap = new Option<FileInfo?>("--host-map") { Description = "take the host's facts (-F exe= and watched paths, user and group names) from FILE, as --record-host wrote it on another machine" };
        var recordHost = new Option<FileInfo?>("--record-host") { Description = "write the host facts the import used to FILE (for --host-map elsewhere)" };
        var ignoreErrors = new Option<bool>("--ignore-errors", "-i") { Description = "carry on past lines auditctl rejects, reporting them, as auditctl -i does (a -i line in the file does the same from there)" };
        var diagnostics = CliDiagnostics.Option();
        var cmd = new Command("import-auditctl", "turn an auditctl rules file into a policy") { input, output, strict, hostArch, exeMap, hostMap, recordHost, ignoreErrors, diagnostics };
        cmd.SetAction(r =>
        {
            var file = r.GetValue(input)!;
            string text;
            try { text = File.ReadAllText(file.FullName); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            { return io.Fail(CliIO.UsageError, Diagnostic.CannotRead(file.ToString(), e)); }
            var options = new ImportOptions();
            if (r.GetValue(hostArch) is { } arch && AuditArch.TryParse(arch, out uint value)) options = options with { HostArch = value };
            if (r.GetValue(exeMap) is { } mapFile)
            {
                string mapText;
                try { mapText = File.ReadAllText(mapFile.FullName); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { return io.Fail(CliIO.UsageError, Diagnostic.CannotRead(mapFile.ToString(), e)); }
                var (map, error) = ExeResolvers.ParseMap(mapText);
                if (map is null) return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.MalformedRecord, error!).In(mapFile.ToString()));
                options = options with { ResolveExe = ExeResolvers.FromMap(map) };
            }
            if (r.GetValue(hostMap) is { } hostFile)
            {
                string hostText;
                try { hostText = File.ReadAllText(hostFile.FullName); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { return io.Fail(CliIO.UsageError, Diagnostic.CannotRead(hostFile.ToString(), e)); }
                var (withHost, error) = HostFacts.Parse(hostText, options);
                if (withHost is null) return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.MalformedRecord, error!).In(hostFile.ToString()));
                options = withHost;
            }
            options = options with { IgnoreErrors = r.GetValue(ignoreErrors) };
            var recorder = new HostFacts.Recorder(options);
            bool isStrict = r.GetValue(strict);
            var result = AuditctlImporter.Import(text, file.ToString(), recorder.Options);
            if (r.GetValue(recordHost) is { } recordFile)
            {
                try { File.WriteAllText(recordFile.FullName, recorder.Render()); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { return io.Fail(CliIO.UsageError, CliIO.CannotWrite(recordFile.ToString(), e)); }
            }
            CliDiagnostics.Write(io, CliDiagnostics.Get(r, diagnostics), result.Diagnostics(isStrict));
            int errors = result.Findings.Count(d => d.IsError(isStrict));
            int warnings = result.Findings.Count(d => d.Severity(isStrict) == Severity.Warning);
            if (errors > 0)
                return io.Fail(CliIO.UsageError, CliIO.Problem(DiagnosticCode.ImportInvalid, $"{errors} error(s){(isStrict ? " (--strict)" : "")}: no policy written").In(file.ToString()));
            if (r.GetValue(output) is { } o)
            {
                try { File.WriteAllText(o.FullName, result.Policy); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                { return io.Fail(CliIO.UsageError, CliIO.CannotWrite(o.ToString(), e)); }
            }
            else io.WriteText(result.Policy);
            io.Stderr.WriteLine($"{file}: {result.Rules.Count} rule(s) imported, {warnings} warning(s)");
            return CliIO.Ok;
        });
        return cmd;
    }
}
