using System.Text;
using Filter.Audit.Formats;
using Filter.VM;
using Xunit;
using Xunit.Abstractions;

namespace Filter.Tests.Auditd;

/// <summary>
/// <c>filterc run</c> against ausearch on the same kernel-made logs (tests/Filter.Tests/Data/rulesets, made by
/// tools/oracle/rulesets: ausearch.tsv holds ausearch 3.0.9's answers). spec/auditd.md, "ausearch", states the
/// differences: <c>key == K</c> is <c>ausearch -w -k K</c> and <c>key contains K</c> is <c>ausearch -k K</c>, exactly;
/// <c>path == P</c> is the file the kernel logged (names joined to the cwd and normalised), which <c>ausearch -w -f P</c>
/// approximates on the names as logged.
/// </summary>
public class AusearchAgreementTests(ITestOutputHelper output)
{
    private static string Dir => Path.Combine(AppContext.BaseDirectory, "Data", "rulesets");

    private sealed record Row(string Set, int Pass, string Option, bool Word, string Value, SortedSet<ulong> Ausearch, SortedSet<ulong> Log);

    private static IEnumerable<Row> Rows()
    {
        foreach (var set in Directory.EnumerateDirectories(Dir).Order())
            foreach (var line in File.ReadLines(Path.Combine(set, "ausearch.tsv")).Skip(1))
            {
                var c = line.Split('\t');
                var ausearch = Serials(c[5]);
                // versus_log: "same", or "only ausearch: S...; only log: S..." against what the log itself gives.
                var log = new SortedSet<ulong>(ausearch);
                foreach (var part in c[6].Split("; "))
                {
                    if (part.StartsWith("only ausearch: ", StringComparison.Ordinal)) log.ExceptWith(Serials(part["only ausearch: ".Length..]));
                    else if (part.StartsWith("only log: ", StringComparison.Ordinal)) log.UnionWith(Serials(part["only log: ".Length..]));
                    else Assert.Equal("same", part);
                }
                yield return new Row(Path.GetFileName(set), int.Parse(c[0]), c[1], c[2] == "1", Unescape(c[3]), ausearch, log);
            }
    }

    /// <summary>The TSV's text: bytes below 0x20, 0x7f and '\' as \xHH (the tool's README).</summary>
    private static string Unescape(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, @"\\x([0-9a-fA-F]{2})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());

    private static SortedSet<ulong> Serials(string text) => [.. text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ulong.Parse)];

    /// <summary>The serials of the events <c>filterc run --format auditd</c> selects with <paramref name="filter"/>.</summary>
    private static SortedSet<ulong> Run(string filter, string log)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        int code = Filter.Cli.Program.Run(["run", "--format", "auditd", "--engine", "interp", "--keys", "--filter", filter, log], () => Stream.Null, stdout, stderr);
        Assert.True(code == 0, $"{filter} on {log}: exit {code}: {stderr}");
        Assert.Equal("", stderr.ToString());
        return [.. Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => ulong.Parse(l.Split('\t')[0]))];
    }

    /// <summary>A filter string literal (spec/language.md: \\, \" and \xHH escapes).</summary>
    private static readonly Dictionary<string, List<(ulong Serial, byte[] Record)>> Logs = [];

    /// <summary>
    /// What <see cref="Run"/> gives, without a process per filter: the log read once by the reader run uses, each
    /// filter run by the interpreter over its events' records (1,500 runs of the command took minutes).
    /// </summary>
    private static SortedSet<ulong> Select(string filter, string log)
    {
        List<(ulong Serial, byte[] Record)> events;
        lock (Logs)
            if (!Logs.TryGetValue(log, out events!))
            {
                events = Logs[log] = [];
                using var reader = new AuditdReader([AuditdSource.File(log)]);
                var builder = new RecordBuilder();
                ReadResult result;
                while ((result = reader.Read(builder)) != ReadResult.End)
                {
                    Assert.Equal(ReadResult.Record, result);
                    if (reader.HasRecord) events.Add((reader.EventId.Serial, builder.ToArray()));
                }
            }
        var engine = Filter.VM.RecordFilters.Create(Engines.TestPrograms.CompileAndVerify(filter), Filter.VM.EngineKind.Interpreter);
        return [.. events.Where(e => engine.Run(new Record(e.Record)) != 0).Select(e => e.Serial)];
    }

    private static string Quote(string s) =>
        "\"" + string.Concat(s.Select(c => c is '\\' or '"' ? "\\" + c : c < 0x20 || c == 0x7f ? $"\\x{(int)c:x2}" : c.ToString())) + "\"";

    [Fact]
    public void KeyIsAusearchWholeWordAndKeyContainsIsAusearchK()
    {
        int rows = 0;
        foreach (var row in Rows().Where(r => r.Option == "-k"))
        {
            string filter = row.Word ? $"key == {Quote(row.Value)}" : $"key contains {Quote(row.Value)}";
            var ours = Select(filter, Path.Combine(Dir, row.Set, $"pass{row.Pass}.log.gz"));
            Assert.True(ours.SetEquals(row.Ausearch), $"{row.Set} pass {row.Pass}: {filter}: ours {string.Join(' ', ours.Except(row.Ausearch))} only, ausearch {string.Join(' ', row.Ausearch.Except(ours))} only");
            rows++;
        }
        output.WriteLine($"{rows} ausearch -k answers agree");
        Assert.True(rows > 1000, $"{rows} rows");
    }

    [Fact]
    public void PathIsTheFileTheKernelLoggedWhereAusearchFMatchesNames()
    {
        int rows = 0, differ = 0;
        foreach (var row in Rows().Where(r => r.Option == "-f" && r.Word))
        {
            var ours = Select($"path == {Quote(row.Value)}", Path.Combine(Dir, row.Set, $"pass{row.Pass}.log.gz"));
            Assert.True(ours.SetEquals(row.Log), $"{row.Set} pass {row.Pass}: path == {row.Value}: ours {string.Join(' ', ours.Except(row.Log))} only, the log's {string.Join(' ', row.Log.Except(ours))} only");
            if (!ours.SetEquals(row.Ausearch)) differ++;
            rows++;
        }
        output.WriteLine($"{rows} ausearch -w -f answers: {differ} differ as spec/auditd.md says (relative names, PARENT items, cwd fallback)");
        Assert.True(rows >= 100, $"{rows} rows");
    }

    /// <summary>The acceptance point itself, on one set: the identity key and /etc/shadow.</summary>
    [Fact]
    public void IdentityAndShadowAgreeWithAusearch()
    {
        var rows = Rows().Where(r => r.Set == "au-30-stig" && r.Pass == 1 && r.Word).ToList();
        var identity = rows.Single(r => r.Option == "-k" && r.Value == "identity");
        Assert.NotEmpty(identity.Ausearch);
        Assert.Equal(identity.Ausearch, Run("key == \"identity\"", Path.Combine(Dir, "au-30-stig", "pass1.log.gz")));
        var shadow = rows.Single(r => r.Option == "-f" && r.Value == "/etc/shadow");
        Assert.Equal(shadow.Log, Run("path == \"/etc/shadow\"", Path.Combine(Dir, "au-30-stig", "pass1.log.gz")));
    }
}
