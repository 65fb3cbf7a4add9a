using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Filter.Compiler.Tables;

namespace Filter.Compiler.Import;

/// <summary>How to import: the arch auditctl would run on, and how <c>-F exe=</c> paths resolve.</summary>
public sealed record ImportOptions
{
    /// <summary>
    /// The <c>AUDIT_ARCH_*</c> of the machine that loads the rules: auditctl turns syscall names of a rule
    /// without <c>-F arch=</c> into this arch's numbers, and <c>b32</c>/<c>b64</c> are relative to it.
    /// </summary>
    public uint HostArch { get; init; } = AuditctlImporter.RunningArch();

    /// <summary>Resolves <c>-F exe=</c> paths; the local file system by default.</summary>
    public Func<string, ExeResolution> ResolveExe { get; init; } = ExeResolvers.FileSystem;

    /// <summary>What a watched path (<c>-w</c>, <c>-F path=</c>, <c>-F dir=</c>) is; null when not absolute. The local file system by default.</summary>
    public Func<string, PathFacts?> ResolvePath { get; init; } = HostFacts.StatPath;

    /// <summary>A user name's uid, as auditctl's getpwnam; null when unknown. This machine's /etc/passwd by default.</summary>
    public Func<string, uint?> ResolveUser { get; init; } = HostFacts.LocalUser;

    /// <summary>A group name's gid, as auditctl's getgrnam; null when unknown. This machine's /etc/group by default.</summary>
    public Func<string, uint?> ResolveGroup { get; init; } = HostFacts.LocalGroup;

    /// <summary>Carry on past a line auditctl rejects, as <c>auditctl -i</c> does (a <c>-i</c> or <c>-c</c> line in the file turns it on from there).</summary>
    public bool IgnoreErrors { get; init; }
}

/// <summary>One imported exit-list rule, in kernel order.</summary>
/// <param name="Line">1-based line in the rules file.</param>
/// <param name="Text">The rule as written.</param>
/// <param name="Always"><c>always</c> (logs with <paramref name="Key"/>) or <c>never</c>.</param>
/// <param name="Key">The key the kernel logs: several keys joined with <c>\x01</c>; "" for none (logged as <c>key=(null)</c>).</param>
/// <param name="Condition">The rule as an expression of the filter language.</param>
public sealed record ImportedRule(int Line, string Text, bool Always, string Key, string Condition);

/// <summary>The policy text, the rules it holds, and every finding about the rules file.</summary>
public sealed record ImportResult(string Policy, IReadOnlyList<ImportedRule> Rules, IReadOnlyList<ImportFinding> Findings)
{
    public bool HasErrors(bool strict) => Findings.Any(d => d.IsError(strict));

    /// <summary>The findings as diagnostics: what <c>--strict</c> (or not) makes of them.</summary>
    public IEnumerable<Diagnostic> Diagnostics(bool strict) => Findings.Select(f => f.ToDiagnostic(strict));
}

/// <summary>
/// Turns an <c>auditctl</c> rules file (the format of <c>/etc/audit/rules.d/*.rules</c>, read as
/// <c>auditctl -R</c> reads it) into a policy whose verdict for a SYSCALL record is the key the kernel would
/// log for it. Every translation is the one spec/auditctl.md derives from the kernel's code and checks on
/// its logs; section "Importing" there describes this importer.
/// </summary>
public static class AuditctlImporter
{
    /// <summary>auditctl's <c>AUDIT_MAX_KEY_LEN</c>.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>The kernel's rule syscall mask has <c>AUDIT_BITMASK_SIZE</c> (64) × 32 bits: larger numbers never match.</summary>
    public const int SyscallMaskBits = 2048;

    /// <summary>auditctl joins the keys of one rule with <c>AUDIT_KEY_SEPARATOR</c>.</summary>
    public const char KeySeparator = '\x01';

    public static uint RunningArch() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.Arm64 => AuditArch.Aarch64,
        Architecture.X86 => AuditArch.I386,
        _ => AuditArch.X86_64,
    };

    public static ImportResult Import(string text, string sourceName, ImportOptions? options = null)
    {
        options ??= new ImportOptions();
        var diagnostics = new List<ImportFinding>();
        var rules = new List<ImportedRule>();
        var lines = text.Split('\n');
        bool ignoreErrors = options.IgnoreErrors;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            int first = diagnostics.Count;
            var importer = new LineImporter(sourceName, i + 1, line, options, diagnostics);
            var parsed = importer.Run();
            if (ignoreErrors)   // auditctl -i: a rejected line is reported and skipped, the file goes on
                for (int d = first; d < diagnostics.Count; d++)
                    if (diagnostics[d].Kind == ImportIssue.Invalid) diagnostics[d] = diagnostics[d] with { CarriedOn = true };
            ignoreErrors |= importer.SetsIgnoreErrors;
            switch (parsed)
            {
                case LineResult.Rule r when r.Prepend: rules.Insert(0, r.Imported); break;
                case LineResult.Rule r: rules.Add(r.Imported); break;
                case LineResult.DeleteAll d:
                    if (rules.Count > 0)
                        diagnostics.Add(d.Diagnostic with { Kind = ImportIssue.Note, Message = $"-D deletes every rule loaded before it: the {rules.Count} rule(s) above are dropped" });
                    else diagnostics.Add(d.Diagnostic);
                    rules.Clear();
                    break;
            }
        }
        return new ImportResult(Render(sourceName, options, rules, diagnostics), rules, diagnostics);
    }

    private static string Render(string source, ImportOptions options, List<ImportedRule> rules, List<ImportFinding> diagnostics)
    {
        var sb = new StringBuilder();
        sb.Append("# Imported from ").Append(OneLine(source)).Append(" by filterc import-auditctl (spec/auditctl.md, \"Importing\").\n");
        sb.Append("# Rules in kernel order (-A prepends); the first rule that holds decides. A syscall named in a rule\n");
        sb.Append("# without -F arch= is its ").Append(AuditArch.NameOf(options.HostArch) ?? Hex(options.HostArch))
          .Append(" number, on every arch, as auditctl loads it.\n");
        var skipped = diagnostics.Where(d => d.Kind is ImportIssue.Unsupported or ImportIssue.Invalid).Select(d => d.Line).Distinct().Order().ToList();
        if (skipped.Count > 0)
            sb.Append("# Not imported (see the warnings): ").Append(string.Join(", ", skipped.Select(l => $"line {l}"))).Append('\n');
        sb.Append('\n');
        sb.Append("# Exit-list rules only ever see system calls.\n");
        sb.Append("never: type != syscall\n");
        foreach (var rule in rules)
        {
            sb.Append('\n');
            sb.Append("# ").Append(OneLine(source)).Append(':').Append(rule.Line).Append(": ").Append(OneLine(rule.Text.Trim())).Append('\n');
            if (rule.Always)
            {
                sb.Append("always");
                if (rule.Key.Length > 0) sb.Append(' ').Append(StringLiteral(rule.Key));
            }
            else sb.Append("never");
            sb.Append(": ").Append(rule.Condition).Append('\n');
        }
        if (rules.Count == 0) sb.Append("\n# No exit-list rule: the kernel logs no system call.\nnever: true\n");
        return sb.ToString();
    }

    /// <summary>A string literal of the filter language for any key or path.</summary>
    public static string StringLiteral(string value)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                case '\0': sb.Append("\\0"); break;
                default:
                    if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ');

    internal static string Hex(uint v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    internal abstract record LineResult
    {
        public sealed record Nothing : LineResult;
        public sealed record Rule(ImportedRule Imported, bool Prepend) : LineResult;
        public sealed record DeleteAll(ImportFinding Diagnostic) : LineResult;
    }
}
