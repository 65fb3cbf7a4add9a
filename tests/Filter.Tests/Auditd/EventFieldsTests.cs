using System.Text;
using Filter.Audit.Formats;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// The whole event in the record (spec/record.md): time, serial, key, tty, items from the SYSCALL record; cwd,
/// the PATH items, proctitle, EXECVE and SOCKADDR from the event's other records, as real kernel-made logs have them.
/// </summary>
public class EventFieldsTests
{
    private static string RulesetLog(string set) => Path.Combine(AppContext.BaseDirectory, "Data", "rulesets", set, "pass1.log.gz");

    /// <summary>The record of each event with a SYSCALL record, by serial.</summary>
    private static Dictionary<ulong, byte[]> Records(string path, IEnumerable<string>? fields = null)
    {
        using var reader = new AuditdReader([AuditdSource.File(path)]) { Fields = fields };
        var records = new Dictionary<ulong, byte[]>();
        var builder = new RecordBuilder();
        ReadResult result;
        while ((result = reader.Read(builder)) != ReadResult.End)
        {
            Assert.True(result == ReadResult.Record, reader.Error?.ToString());
            if (reader.HasSyscall) records[reader.EventId.Serial] = builder.ToArray();
        }
        return records;
    }

    private static string Text(byte[] record, string field) => Encoding.UTF8.GetString(new Record(record).GetString(RecordLayout.StringNamed(field)!));

    private static ulong Scalar(byte[] record, string field) => new Record(record).Load(RecordLayout.ScalarNamed(field)!);

    [Fact]
    public void AnExecveEventHasItsTimeKeyCwdItemsAndArguments()
    {
        var r = Records(RulesetLog("au-30-stig"))[474767];
        Assert.Equal(1796596507097UL, Scalar(r, "time"));
        Assert.Equal(474767UL, Scalar(r, "serial"));
        Assert.Equal("catchall", Text(r, "key"));
        Assert.Equal("(none)", Text(r, "tty"));
        Assert.Equal(2UL, Scalar(r, "items"));
        Assert.Equal("/tmp/filterc_rulesets.k4zt1v4l", Text(r, "cwd"));
        Assert.Equal("/tmp/filterc_rulesets.k4zt1v4l/filterc.fcrs20875x60673.true", Text(r, "name0"));
        Assert.Equal("/tmp/filterc_rulesets.k4zt1v4l/filterc.fcrs20875x60673.true", Text(r, "path0"));
        Assert.Equal(11665631UL, Scalar(r, "inode0"));
        Assert.Equal(0xfeUL << 20, Scalar(r, "dev0"));          // dev=fe:00
        Assert.Equal(0x81c0UL, Scalar(r, "mode0"));              // mode=0100700
        Assert.Equal(1UL, Scalar(r, "nametype0"));               // NORMAL
        Assert.Equal("/lib64/ld-linux-x86-64.so.2", Text(r, "path1"));
        Assert.Equal(331651UL, Scalar(r, "inode1"));
        Assert.Equal(0x81edUL, Scalar(r, "mode1"));
        Assert.Equal("", Text(r, "name2"));
        Assert.Equal(0UL, Scalar(r, "mode2"));
        Assert.Equal(1UL, Scalar(r, "argc"));
        Assert.Equal("/tmp/filterc_rulesets.k4zt1v4l/filterc.fcrs20875x60673.true", Text(r, "argv"));
        // PROCTITLE: hex, NULs as spaces, at most 128 bytes as the kernel logs it.
        Assert.StartsWith("/usr/bin/python3 -S /work/wt-h19d/tools/oracle/rulesets/workload.py /tmp/filterc_rulesets.k4zt1v4l ", Text(r, "proctitle"));
        Assert.Equal(0UL, Scalar(r, "saddr_fam"));
    }

    [Fact]
    public void ASockaddrGivesFamilyAddressAndPort()
    {
        var r = Records(RulesetLog("au-30-stig"))[474891]; // saddr=020000007F000001...: inet 127.0.0.1 port 0
        Assert.Equal(2UL, Scalar(r, "saddr_fam"));
        Assert.Equal("127.0.0.1", Text(r, "addr"));
        Assert.Equal(0UL, Scalar(r, "port"));
        Assert.Equal(0UL, Scalar(r, "items"));
        Assert.Equal("", Text(r, "cwd"));
    }

    [Fact]
    public void RecordsAFilterDoesNotReadAreNotDecoded()
    {
        var r = Records(RulesetLog("au-30-stig"), ["uid"])[474767];
        Assert.Equal("", Text(r, "cwd"));
        Assert.Equal("", Text(r, "path0"));
        Assert.Equal(0UL, Scalar(r, "argc"));
        Assert.Equal(1796596507097UL, Scalar(r, "time")); // from the id, always there
    }

    /// <summary>Every event of every committed rule-set log decodes, and every PATH item's path is its name resolved.</summary>
    [Fact]
    public void EveryRulesetLogDecodesAndPathsAreResolved()
    {
        int items = 0, relative = 0;
        foreach (var dir in Directory.EnumerateDirectories(Path.Combine(AppContext.BaseDirectory, "Data", "rulesets")))
            foreach (var r in Records(Path.Combine(dir, "pass1.log.gz")).Values)
                for (int i = 0; i < RecordLayout.PathItems && i < (int)Scalar(r, "items"); i++)
                {
                    string name = Text(r, $"name{i}"), path = Text(r, $"path{i}");
                    if (name.Length == 0) continue;
                    items++;
                    if (!name.StartsWith('/')) relative++;
                    string expected = Path.GetFullPath(name, Text(r, "cwd"));
                    if (expected.Length > 1) expected = expected.TrimEnd('/');
                    Assert.Equal(expected, path);
                }
        Assert.True(items > 1000, $"{items} items");
        Assert.True(relative > 0, "no relative name");
    }

    [Theory]
    [InlineData("shadow", "/etc", "/etc/shadow")]
    [InlineData("/etc/./passwd", "/", "/etc/passwd")]
    [InlineData("/etc/cron.d/", "/", "/etc/cron.d")]
    [InlineData("../../../x", "/a/b", "/x")]
    [InlineData("a//b/..", "/r", "/r/a")]
    [InlineData("/", "", "/")]
    [InlineData("x", "", null)]
    public void NamesResolveAgainstTheCwdLexically(string name, string cwd, string? expected)
    {
        var into = new byte[4096];
        int n = PathNames.Resolve(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(cwd), into);
        Assert.Equal(expected, n < 0 ? null : Encoding.UTF8.GetString(into, 0, n));
    }

    /// <summary>Names and cwds of '/', '.', 'a' and 'b': every shortcut of <see cref="PathNames.Resolve"/> against a plain walk.</summary>
    [Fact]
    public void RandomNamesResolveAsAWalkOverTheirComponents()
    {
        var piece = Gen.Elements("/", ".", "a", "b", "..", "//", "/.", "ab");
        var path = piece.ArrayOf().Select(p => string.Concat(p));
        var cases = from name in path from cwd in path from room in Gen.Choose(1, 12) select (name, cwd, room);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var (name, cwd, room) = c;
            var into = new byte[room];
            int n = PathNames.Resolve(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(cwd), into);
            Assert.Equal(Walk(name, cwd, room), n < 0 ? null : Encoding.UTF8.GetString(into, 0, n));
        }));

        static string? Walk(string name, string cwd, int room)
        {
            if (!name.StartsWith('/') && !cwd.StartsWith('/')) return null;
            var parts = new List<string>();
            foreach (var part in ((name.StartsWith('/') ? "" : cwd) + "/" + name).Split('/'))
            {
                if (part is "" or ".") continue;
                if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
                parts.Add(part);
                // The resolved path never needs more room than it has at any step.
                if (parts.Sum(p => p.Length + 1) > room) return null;
            }
            return parts.Count == 0 ? "/" : "/" + string.Join('/', parts);
        }
    }

    [Fact]
    public void KeysAndItemsPastTheRecordAreAsLogged()
    {
        const string syscall = "arch=c000003e syscall=82 success=yes exit=0 a0=1 a1=2 a2=0 a3=0 items=5 ppid=1 pid=2 auid=0 uid=0 gid=0 " +
            "euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=1 comm=\"mv\" exe=\"/bin/mv\" key=6101696465";
        var lines = new List<string> { $"type=SYSCALL msg=audit(10.5:7): {syscall}", "type=CWD msg=audit(10.5:7): cwd=\"/tmp\"" };
        for (int i = 0; i < 5; i++)
            lines.Add($"type=PATH msg=audit(10.5:7): item={i} name=\"n{i}\" inode={i + 1} dev=00:2a mode=0100644 ouid=1 ogid=2 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0");
        lines.Add("type=EOE msg=audit(10.5:7): ");
        using var reader = new AuditdReader(new MemoryStream(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n")), "t.log") { Fields = ["path0", "inode3", "dev3", "nametype3", "key", "tty"] };
        var builder = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var r = builder.ToArray();
        Assert.Equal("a\x01ide", Text(r, "key"));      // hex: the kernel's \x01-separated keys
        Assert.Equal("pts1", Text(r, "tty"));
        Assert.Equal(10005UL, Scalar(r, "time"));
        Assert.Equal("/tmp/n3", Text(r, "path3"));
        Assert.Equal(4UL, Scalar(r, "inode3"));
        Assert.Equal(0x2aUL, Scalar(r, "dev3"));
        Assert.Equal(4UL, Scalar(r, "nametype3"));
        Assert.Equal(5UL, Scalar(r, "items"));
        Assert.Equal(1, reader.EventsPastPathItems);
    }

    [Theory]
    [InlineData("0A001F90000000000000000000000000000000000000000100000000", 10UL, "::1", 8080UL)]
    [InlineData("0A0000500000000020010DB800000000000000000000000100000000", 10UL, "2001:db8::1", 80UL)]
    [InlineData("0A0000500000000000000000000000000000FFFFC0A8000100000000", 10UL, "::ffff:192.168.0.1", 80UL)]
    [InlineData("0A000050000000000000000000000000000000000102030400000000", 10UL, "::1.2.3.4", 80UL)]
    [InlineData("0A00005000000000FE80000000000000000000000000000000000000", 10UL, "fe80::", 80UL)]
    [InlineData("0A000050000000000001000000020000000000000003000000000000", 10UL, "1:0:2::3:0", 80UL)]
    [InlineData("0A0000500000000000010002000300", 10UL, "", 0UL)] // cut short: the family only
    [InlineData("0A0", 0UL, null, 0UL)]
    [InlineData("0200003501020304", 2UL, "1.2.3.4", 53UL)]
    [InlineData("01002F72756E2F7300", 1UL, "/run/s", 0UL)]
    [InlineData("0100006162", 1UL, "@ab", 0UL)]
    [InlineData("1000", 16UL, "", 0UL)]
    public void SockaddrAddressesReadAsInetNtopWritesThem(string saddr, ulong family, string? addr, ulong port)
    {
        string log = $"type=SYSCALL msg=audit(1.0:1): {KernelText.Syscall("arch=c000003e syscall=42 success=yes exit=0")}\n" +
            $"type=SOCKADDR msg=audit(1.0:1): saddr={saddr}\n";
        using var reader = new AuditdReader(new MemoryStream(Encoding.UTF8.GetBytes(log)), "t.log");
        var builder = new RecordBuilder();
        var result = reader.Read(builder);
        if (addr is null)
        {
            Assert.Equal(ReadResult.Error, result); // odd number of hex digits
            return;
        }
        Assert.Equal(ReadResult.Record, result);
        var r = builder.ToArray();
        Assert.Equal(family, Scalar(r, "saddr_fam"));
        Assert.Equal(addr, Text(r, "addr"));
        Assert.Equal(port, Scalar(r, "port"));
    }

    [Theory]
    [InlineData("path0", "/etc/x")]     // read up to name=: the bad mode after it is not read
    [InlineData("inode0", "5")]
    [InlineData("nametype0", "1")]      // the bad mode passed over, not decoded
    [InlineData("ogid0", "7")]
    [InlineData("mode0", null)]         // read: an error
    [InlineData("dev0", "42")]
    public void APathRecordIsReadOnlyForTheFieldsTheFilterReads(string field, string? value)
    {
        string log = "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=2 success=yes exit=3 a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 " +
            "pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=1 comm=\"cat\" exe=\"/bin/cat\" key=(null)\n" +
            "type=PATH msg=audit(1.0:1): item=0 name=\"/etc/x\" inode=5 dev=00:2a mode=0999 ouid=6 ogid=7 rdev=00:00 nametype=NORMAL cap_fp=0 odd\n" +
            "type=EOE msg=audit(1.0:1): \n";
        using var reader = new AuditdReader(new MemoryStream(Encoding.UTF8.GetBytes(log)), "t.log") { Fields = [field] };
        var builder = new RecordBuilder();
        var result = reader.Read(builder);
        if (value is null)
        {
            Assert.Equal(ReadResult.Error, result);
            Assert.Contains("PATH field 'mode': cannot decode 0999", reader.Error!.ToString());
            return;
        }
        Assert.Equal(ReadResult.Record, result);
        var r = builder.ToArray();
        Assert.Equal(value, field == "path0" ? Text(r, field) : Scalar(r, field).ToString());
    }

    [Theory]
    [InlineData("type=PATH msg=audit(1.0:1): name=\"x\" item=0", "'item' is not its first field")]
    [InlineData("type=PATH msg=audit(1.0:1): item=0 mode=0999", "PATH field 'mode': cannot decode 0999")]
    [InlineData("type=PATH msg=audit(1.0:1): item=0 nametype=ODD", "PATH field 'nametype'")]
    [InlineData("type=CWD msg=audit(1.0:1): cwd=\"/x", "unterminated")]
    [InlineData("type=SOCKADDR msg=audit(1.0:1): saddr=0", "SOCKADDR field 'saddr'")]
    public void ABadRecordIsAnErrorNamingItsField(string line, string message)
    {
        using var reader = new AuditdReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), "t.log");
        Assert.Equal(ReadResult.Error, reader.Read(new RecordBuilder()));
        Assert.Contains(message, reader.Error!.ToString());
        Assert.Equal(ReadResult.End, reader.Read(new RecordBuilder()));
    }
}
