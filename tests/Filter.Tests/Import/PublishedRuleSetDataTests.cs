using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Filter.Tests.Import;

/// <summary>
/// The kernel truth of issue 19 (tools/oracle/rulesets, README there): per published rule set, the lines as
/// loaded (rules.passN.tsv), the session's events as the kernel logged them (passN.log.gz) and the key the
/// kernel logged per event (passN.verdicts.tsv). These tests check that the committed data is whole and
/// consistent -- every command line of the published file accounted for, every event with exactly its
/// verdict, every key from a loaded rule of the set -- so that the importer's comparison can rely on it.
/// </summary>
public partial class PublishedRuleSetDataTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Data", "rulesets");

    private static readonly string[] SetNames =
        ["au-30-stig", "au-30-ospp-v42", "au-30-pci-dss-v31", "gds-puppet-example", "bfuzzy1-auditd-attack", "neo23x0-audit"];

    public static IEnumerable<object[]> Sets() => SetNames.Select(s => new object[] { s });

    public static IEnumerable<object[]> Passes() => SetNames.SelectMany(s => new[] { new object[] { s, 1 }, [s, 2] });

    private static readonly string[] Statuses =
    [
        "loaded", "rejected by auditctl", "rejected by the kernel", "not loaded (control line: never executed)",
        "not loaded (exclude list: cannot be confined)", "not loaded (user list: cannot be confined)",
    ];

    private sealed record LoadRow(int Line, string Kind, string Status, string Equivalent, string Loaded, string Note);

    private sealed record Verdict(long Serial, string Arch, string Syscall, string Key);

    private static JsonElement Run(string set) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, set, "run.json"))).RootElement;

    private static JsonElement PassOf(string set, int pass) => Run(set).GetProperty("passes").EnumerateArray().Single(p => p.GetProperty("pass").GetInt32() == pass);

    /// <summary>The escapes of the TSV files: \xHH for a byte below 0x20, 0x7f and backslash.</summary>
    private static string Unescape(string s) => Escaped().Replace(s, m => ((char)int.Parse(m.Groups[1].Value, NumberStyles.HexNumber)).ToString());

    private static string Escape(string s) =>
        string.Concat(s.Select(c => c < 0x20 || c == 0x7f || c == '\\' ? $"\\x{(int)c:x2}" : c.ToString()));

    [GeneratedRegex(@"\\x([0-9a-fA-F]{2})")]
    private static partial Regex Escaped();

    [GeneratedRegex(@"msg=audit\((\d+)\.(\d+):(\d+)\)")]
    private static partial Regex Stamp();

    private static List<LoadRow> LoadRows(string set, int pass)
    {
        var lines = File.ReadAllLines(Path.Combine(Root, set, $"rules.pass{pass}.tsv"));
        Assert.Equal("line\tkind\tstatus\tequivalent\tloaded\tnote", lines[0]);
        return lines.Skip(1).Select(l =>
        {
            var c = l.Split('\t');
            Assert.True(c.Length == 6, $"{set} rules.pass{pass}.tsv: {l}");
            return new LoadRow(int.Parse(c[0], CultureInfo.InvariantCulture), c[1], c[2], Unescape(c[3]), Unescape(c[4]), c[5]);
        }).ToList();
    }

    private static List<Verdict> Verdicts(string set, int pass)
    {
        var lines = File.ReadAllLines(Path.Combine(Root, set, $"pass{pass}.verdicts.tsv"));
        Assert.Equal("serial\tarch\tsyscall\tkernel_key", lines[0]);
        return lines.Skip(1).Select(l => l.Split('\t')).Select(c => new Verdict(long.Parse(c[0], CultureInfo.InvariantCulture), c[1], c[2], c[3])).ToList();
    }

    /// <summary>The keys a rule's words give it: every -k KEY and -F key=KEY (auditctl joins several with \x01).</summary>
    private static IEnumerable<string> KeysOf(string rule)
    {
        var words = rule.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i + 1 < words.Length; i++)
        {
            if (words[i] == "-k") yield return words[i + 1];
            else if (words[i] == "-F" && words[i + 1].StartsWith("key=", StringComparison.Ordinal)) yield return words[i + 1][4..];
        }
    }

    /// <summary>A SYSCALL record's key field as the kernel writes it: quoted, hex, or (null) for none.</summary>
    private static string? LoggedKey(string syscallRecord)
    {
        var m = Regex.Match(syscallRecord, @" key=(""[^""]*""|\(null\)|[0-9A-F]+)$");
        Assert.True(m.Success, $"no key field: {syscallRecord}");
        string raw = m.Groups[1].Value;
        return raw == "(null)" ? null : raw.StartsWith('"') ? raw[1..^1] : Encoding.UTF8.GetString(Convert.FromHexString(raw));
    }

    private static string? Field(string record, string name)
    {
        var m = Regex.Match(record, $@"(?:^| ){name}=(\S+)");
        return m.Success ? m.Groups[1].Value : null;
    }

    [Theory]
    [MemberData(nameof(Passes))]
    public void EveryCommandLineOfThePublishedFileIsAccountedFor(string set, int pass)
    {
        // command lines as auditctl -R reads them: split on spaces, a first word starting with # is a comment
        var expected = File.ReadAllText(Path.Combine(Root, set, "published.rules")).Split('\n')
            .Select((text, i) => (Line: i + 1, Words: text.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            .Where(l => l.Words.Length > 0 && !l.Words[0].StartsWith('#')).Select(l => l.Line).ToList();
        var rows = LoadRows(set, pass);
        Assert.Equal(expected, rows.Select(r => r.Line).ToList());
        string session = "sessionid=" + PassOf(set, pass).GetProperty("session").GetInt32().ToString(CultureInfo.InvariantCulture);
        string tag = Run(set).GetProperty("tag").GetString()!;
        foreach (var r in rows)
        {
            Assert.Contains(r.Status, Statuses);
            bool sent = !r.Status.StartsWith("not loaded", StringComparison.Ordinal);
            Assert.True(sent == (r.Loaded.Length > 0), $"{set} line {r.Line}: {r.Status} but loaded '{r.Loaded}'");
            if (sent)
            {
                Assert.True(r.Loaded.Contains(session, StringComparison.Ordinal), $"{set} line {r.Line} was not confined to the session: {r.Loaded}");
                Assert.DoesNotContain(tag, r.Equivalent);
            }
            if (r.Kind == "watch")
                Assert.True(r.Equivalent.StartsWith("-a always,exit -F path=", StringComparison.Ordinal) || r.Equivalent.StartsWith("-a always,exit -F dir=", StringComparison.Ordinal),
                    $"{set} line {r.Line}: a watch's equivalent is an exit rule, not {r.Equivalent}");
        }
        var counts = rows.GroupBy(r => r.Status).ToDictionary(g => g.Key, g => g.Count());
        var recorded = PassOf(set, pass).GetProperty("rules").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(recorded.OrderBy(p => p.Key), counts.OrderBy(p => p.Key));
    }

    [Theory]
    [MemberData(nameof(Passes))]
    public void EveryLoggedEventHasItsVerdictInOrder(string set, int pass)
    {
        string session = PassOf(set, pass).GetProperty("session").GetInt32().ToString(CultureInfo.InvariantCulture);
        string tag = Run(set).GetProperty("tag").GetString()!;
        var events = new List<(long Serial, string Syscall)>();
        var records = new Dictionary<long, int>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(Root, set, $"pass{pass}.log.gz")), CompressionMode.Decompress), Encoding.UTF8))
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                var m = Stamp().Match(line);
                Assert.True(m.Success, $"{set} pass {pass}: no time stamp: {line}");
                long serial = long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
                records[serial] = records.GetValueOrDefault(serial) + 1;
                if (line.StartsWith("type=SYSCALL ", StringComparison.Ordinal))
                    events.Add((serial, line.Split('\x1d')[0]));
            }
        }
        var verdicts = Verdicts(set, pass);
        Assert.Equal(verdicts.Select(v => v.Serial), events.Select(e => e.Serial));
        Assert.Equal(events.Count, events.Select(e => e.Serial).Distinct().Count());
        Assert.Equal(records.Keys.Order(), events.Select(e => e.Serial).Order());   // no record without its SYSCALL
        foreach (var (v, (serial, syscall)) in verdicts.Zip(events))
        {
            Assert.Equal(session, Field(syscall, "ses"));
            Assert.Equal(v.Arch, Field(syscall, "arch"));
            Assert.Equal(v.Syscall, Field(syscall, "syscall"));
            string? key = LoggedKey(syscall);
            Assert.False(key?.Split('\x01').Any(p => p.StartsWith(tag + "-", StringComparison.Ordinal)), $"{set} pass {pass} event {serial}: the run's tag is still in the key");
            string expected = key is null ? "(none)" : key == "catchall" ? "(catch-all)" : string.Join("\\x01", key.Split('\x01').Select(Escape));
            Assert.True(expected == v.Key, $"{set} pass {pass} event {serial}: logged {expected}, verdict {v.Key}");
        }
        Assert.Equal(PassOf(set, pass).GetProperty("events").GetInt32(), events.Count);
        Assert.True(events.Count > 500, $"{set} pass {pass}: only {events.Count} events");
    }

    [Theory]
    [MemberData(nameof(Passes))]
    public void EveryKeyTheKernelLoggedIsOneOfALoadedRule(string set, int pass)
    {
        var loaded = LoadRows(set, pass).Where(r => r.Status == "loaded").ToList();
        var keys = loaded.SelectMany(r => KeysOf(r.Equivalent)).ToHashSet();
        var counts = new Dictionary<string, int>();
        foreach (var v in Verdicts(set, pass))
        {
            counts[v.Key] = counts.GetValueOrDefault(v.Key) + 1;
            if (v.Key == "(catch-all)") continue;
            Assert.NotEqual("(none)", v.Key);                       // every rule of these sets has a key
            foreach (var part in Unescape(v.Key).Split('\x01'))
                Assert.True(keys.Contains(part), $"{set} pass {pass} event {v.Serial}: key '{part}' is no loaded rule's");
        }
        Assert.True(counts.GetValueOrDefault("(catch-all)") > 0, "no event got the catch-all");
        Assert.True(counts.Count > 2, $"{set} pass {pass}: the kernel logged hardly any key of the set");
        var recorded = PassOf(set, pass).GetProperty("keys").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(recorded.OrderBy(p => p.Key, StringComparer.Ordinal), counts.OrderBy(p => p.Key, StringComparer.Ordinal));
        if (pass == 2)   // pass 2's never rules as always rules: only they give never@LINE keys
            Assert.All(counts.Keys.Where(k => k.StartsWith("never@", StringComparison.Ordinal)),
                k => Assert.Contains(loaded, r => KeysOf(r.Equivalent).Contains(k) && r.Note.StartsWith("never -> always", StringComparison.Ordinal)));
        else
            Assert.DoesNotContain(counts.Keys, k => k.StartsWith("never@", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public void AusearchWithWholeWordsFindsExactlyTheEventsOfEachKey(string set)
    {
        var rows = File.ReadAllLines(Path.Combine(Root, set, "ausearch.tsv"));
        Assert.Equal("pass\toption\tword\tvalue\tcount\tausearch_serials\tversus_log", rows[0]);
        var exactKeys = rows.Skip(1).Select(r => r.Split('\t')).Where(c => c[1] == "-k" && c[2] == "1").ToList();
        Assert.NotEmpty(exactKeys);
        Assert.All(exactKeys, c => Assert.True(c[6] == "same", $"{set} pass {c[0]} ausearch -w -k {c[3]}: {c[6]}"));
        foreach (var c in rows.Skip(1).Select(r => r.Split('\t')))
            Assert.Equal(int.Parse(c[4], CultureInfo.InvariantCulture), c[5].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
