using System.Text;
using Filter.Audit.Formats;
using Filter.Verifier;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>The reader's speed options: decode only the fields a filter reads; do not keep lines when counting.</summary>
public class AuditdReaderOptionsTests
{
    private const string Log =
        "type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=zz items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)\n" +
        "type=EXECVE msg=audit(1.001:10): argc=1 a0=\"ls\"\n";

    private static AuditdReader Reader(IEnumerable<string>? fields, bool keepLines = true) =>
        new([AuditdSource.Stream(new MemoryStream(Encoding.ASCII.GetBytes(Log)), "log")]) { Fields = fields, KeepLines = keepLines };

    [Fact]
    public void AllFieldsAreCheckedByDefault()
    {
        using var reader = Reader(null);
        Assert.Equal(ReadResult.Error, reader.Read(new RecordBuilder()));
        Assert.Contains("'a3'", reader.Error!.Message);
    }

    [Fact]
    public void FieldsAFilterDoesNotReadAreNeitherDecodedNorChecked()
    {
        using var reader = Reader(["uid", "exe"]);
        var builder = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var record = new Record(builder.Build());
        Assert.Equal((59u, 1000u, true), (record.Syscall, record.U32(RecordLayout.Uid), record.Success));
        Assert.Equal("/usr/bin/ls"u8.ToArray(), record.Exe.ToArray());
        Assert.Equal(0u, record.U32(RecordLayout.Pid));   // not asked for: left 0
        Assert.Equal(2, reader.LineCount);
    }

    [Fact]
    public void WithoutLinesEventsAreStillGroupedAndCounted()
    {
        using var reader = Reader(["syscall"], keepLines: false);
        Assert.Equal(ReadResult.Record, reader.Read(new RecordBuilder()));
        Assert.Equal(2, reader.LineCount);
        Assert.Throws<InvalidOperationException>(() => reader.GetLine(0));
        Assert.Equal(ReadResult.End, reader.Read(new RecordBuilder()));
    }

    // The fields of a SYSCALL record after arch, syscall, success and exit, as the kernel writes them.
    private const string Ids = "a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3";

    /// <summary>
    /// Records whose late strings (comm, exe, key) a filter reading only them finds by searching past the
    /// other fields: in the kernel's order; with a quoted value holding " exe=" (which the kernel writes in
    /// hex, but a log need not); with key before comm and exe; with an ENRICHED tail naming an exe.
    /// </summary>
    public static TheoryData<string> LateFieldRecords => new()
    {
        $"arch=c000003e syscall=59 success=yes exit=0 {Ids} comm=\"ls\" exe=\"/usr/bin/ls\" key=\"k\"",
        $"arch=c000003e syscall=59 success=yes exit=0 {Ids} comm=\"a exe=/x key=y\" exe=\"/usr/bin/ls\" key=\"k\"",
        $"arch=c000003e syscall=59 success=yes exit=0 key=\"k\" {Ids} comm=\"ls\" exe=\"/usr/bin/ls\"",
        $"arch=c000003e syscall=59 success=yes exit=0 {Ids} exe=\"/usr/bin/ls\" comm=\"ls\" key=(null)\u001dARCH=x86_64 exe=/tmp/x comm=y",
    };

    /// <summary>
    /// More records for <see cref="AnyFieldsReadAsAWholeRecordReadsThem"/>, besides <see cref="LateFieldRecords"/>:
    /// with a quoted value and an ENRICHED tail holding " uid=" and " a2="; with fields out of the kernel's
    /// order (uid before auid, a2 after ses, success and exit last); without success and exit (a call that
    /// never returned).
    /// </summary>
    public static TheoryData<string> SearchedFieldRecords => new()
    {
        $"arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 comm=\"x uid=7 a2=8\" auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 exe=\"/usr/bin/ls\" key=(null)\u001dARCH=x86_64 uid=9 a2=9",
        "arch=c000003e syscall=59 uid=5 a0=1 a1=2 a3=4 items=1 ppid=1 pid=2 auid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 a2=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null) success=no exit=-13",
        $"arch=c000003e syscall=231 {Ids} comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)",
    };

    /// <summary>
    /// A filter reading a few fields decodes them as a whole read does, whether it reads on field by field,
    /// stops early or searches past the fields it does not read.
    /// </summary>
    [Theory]
    [MemberData(nameof(SearchedFieldRecords))]
    [MemberData(nameof(LateFieldRecords))]
    public void AnyFieldsReadAsAWholeRecordReadsThem(string fields)
    {
        string log = $"type=SYSCALL msg=audit(1.001:10): {fields}\ntype=PROCTITLE msg=audit(1.001:10): proctitle=6C73\n";
        var whole = Read(log, null);
        string[] names = ["success", "exit", "a0", "a2", "a3", "items", "ppid", "pid", "auid", "uid", "euid", "fsgid", "ses", "tty", "comm", "exe", "key"];
        // Each field alone, each pair (every distance a search can pass over), and the three late strings.
        foreach (var wanted in names.Select(n => new[] { n }).Concat(names.SelectMany((a, i) => names.Skip(i + 1).Select(b => new[] { a, b })))
            .Append(["comm", "exe", "key"]))
        {
            var part = Read(log, wanted);
            foreach (var name in wanted)
                Assert.True(whole[name] == part[name], $"{string.Join(",", wanted)}: {name} '{part[name]}', not '{whole[name]}'");
        }
    }

    /// <summary>
    /// A filter reading one field of the records besides SYSCALL (a PATH item's name, inode, mode, ..., the cwd,
    /// the command line, the address) gets, in every event of the oracle logs, what a whole read gets: the
    /// PATH records are read only up to the fields asked for, the rest of their fields neither decoded nor
    /// copied, and the strings of the records not asked for left out.
    /// </summary>
    [Fact]
    public void AnyFieldOfTheOtherRecordsReadsAsAWholeRecordReadsIt()
    {
        // Two of the five logs: the others hold the same kinds of records (about 800 PATH, 40 SOCKADDR, 30 EXECVE each).
        var logs = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs"), "*.log").Order().Take(2).ToList();
        string[] perItem = ["name", "path", "inode", "dev", "mode", "ouid", "ogid", "nametype"];
        var names = perItem.SelectMany(n => new[] { n + "0", n + "1" })
            .Concat(["cwd", "proctitle", "argv", "argc", "saddr_fam", "addr", "port", "oflag"]).ToList();
        foreach (var log in logs)
        {
            var whole = Values(log, null);
            foreach (var name in names)
            {
                var part = Values(log, [name]);
                Assert.Equal(whole.Count, part.Count);
                for (int e = 0; e < whole.Count; e++)
                    Assert.True(whole[e][name] == part[e][name], $"{Path.GetFileName(log)}, event {e}, {name}: '{part[e][name]}', not '{whole[e][name]}'");
            }
        }
    }

    /// <summary>Every field of every event's record in a log, as text.</summary>
    private static List<Dictionary<string, string>> Values(string log, IEnumerable<string>? fields)
    {
        using var reader = new AuditdReader([AuditdSource.File(log)]) { Fields = fields };
        var builder = new RecordBuilder();
        var events = new List<Dictionary<string, string>>();
        for (ReadResult result; (result = reader.Read(builder)) != ReadResult.End;)
        {
            Assert.NotEqual(ReadResult.Error, result);
            if (result == ReadResult.Record) events.Add(FieldValues(new Record(builder.Build())));
        }
        return events;
    }

    /// <summary>Every field of a record, by name, as text.</summary>
    private static Dictionary<string, string> FieldValues(Record record)
    {
        var values = new Dictionary<string, string>();
        foreach (var f in RecordLayout.Scalars) values[f.Name] = record.Load(f).ToString();
        foreach (var f in RecordLayout.Strings) values[f.Name] = Encoding.UTF8.GetString(record.GetString(f));
        return values;
    }

    /// <summary>
    /// Readers sharing a pool one after another (a parallel run's worker, chunk after chunk) read what fresh
    /// readers read: every event's id, lines and record, paths and cwd included, whatever the reader before
    /// left in the events it gave back; also when that reader stopped with events still open.
    /// </summary>
    [Fact]
    public void ReadersSharingAPoolReadAsFreshReadersDo()
    {
        var logs = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs"), "*.log").Order().ToList();
        string[] fields = ["syscall", "uid", "exe", "path0", "path1", "cwd", "inode0", "mode1", "key"];
        var pool = new AuditdReaderPool();
        foreach (var log in logs.Concat(logs.AsEnumerable().Reverse()))
        {
            Assert.Equal(Events(log, fields, null), Events(log, fields, pool));
            Assert.Equal(Events(log, null, null), Events(log, null, pool));
            // Stopped with events open (their records interleaved): they go back to the pool unfinished.
            using var early = new AuditdReader([AuditdSource.Stream(new MemoryStream(Encoding.ASCII.GetBytes(Interleaved)), "log")]) { Fields = fields, Pool = pool };
            Assert.Equal(ReadResult.Record, early.Read(new RecordBuilder()));
        }
    }

    private const string Interleaved =
        "type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=\"k1\"\n" +
        "type=SYSCALL msg=audit(1.001:11): arch=c000003e syscall=257 success=yes exit=3 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=3 auid=1000 uid=7 gid=1000 euid=7 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" key=\"k2\"\n" +
        "type=CWD msg=audit(1.001:11): cwd=\"/stale\"\n" +
        "type=PATH msg=audit(1.001:11): item=0 name=\"/stale/path\" inode=99 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n" +
        "type=PROCTITLE msg=audit(1.001:10): proctitle=6C73\n";

    private static List<string> Events(string log, IEnumerable<string>? fields, AuditdReaderPool? pool)
    {
        using var reader = new AuditdReader([AuditdSource.File(log)]) { Fields = fields, Pool = pool };
        var builder = new RecordBuilder();
        var events = new List<string>();
        for (ReadResult result; (result = reader.Read(builder)) != ReadResult.End;)
        {
            Assert.NotEqual(ReadResult.Error, result);
            var lines = Enumerable.Range(0, reader.LineCount).Select(i => Encoding.UTF8.GetString(reader.GetLine(i)));
            events.Add($"{reader.EventId} {result} {(result == ReadResult.Record ? Convert.ToHexString(builder.Build()) : "")} {string.Join("|", lines)}");
        }
        Assert.NotEmpty(events);
        return events;
    }

    [Fact]
    public void ALateStringOnlyInTheEnrichedTailIsMissing()
    {
        string log = $"type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 {Ids} comm=\"ls\" key=(null)\u001dARCH=x86_64 exe=/tmp/x\n";
        using var reader = Reader(log, ["exe"]);
        Assert.Equal(ReadResult.Error, reader.Read(new RecordBuilder()));
        Assert.Contains("has no 'exe' field", reader.Error!.Message);
    }

    private static AuditdReader Reader(string log, IEnumerable<string>? fields) =>
        new([AuditdSource.Stream(new MemoryStream(Encoding.ASCII.GetBytes(log)), "log")]) { Fields = fields };

    private static Dictionary<string, string> Read(string log, IEnumerable<string>? fields)
    {
        using var reader = Reader(log, fields);
        var builder = new RecordBuilder();
        var result = reader.Read(builder);
        Assert.True(result == ReadResult.Record, $"{string.Join(",", fields ?? [])}: {reader.Error?.Message}");
        return FieldValues(new Record(builder.Build()));
    }

    private const string BadUidLog =
        "type=SYSCALL msg=audit(1.001:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=2 auid=1000 uid=zz gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=(none) ses=3 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)\n" +
        "type=CWD msg=audit(1.001:10): cwd=zz\n" +
        "type=PROCTITLE msg=audit(1.001:10): proctitle=6C73\n";

    private static AuditdReader Matching(string filter, string log) =>
        new([AuditdSource.Stream(new MemoryStream(Encoding.ASCII.GetBytes(log)), "log")])
        {
            Fields = TestPrograms.CompileAndVerify(filter).FieldsRead,
            Matches = SyscallMatchTable.Of(TestPrograms.CompileAndVerify(filter)),
        };

    [Fact]
    public void ARecordNoFilterCanMatchIsDecodedNoFurtherThanItsSyscall()
    {
        // openat only: the execve record's bad uid and its event's bad CWD record cannot change the verdict.
        using var reader = Matching("syscall == openat && uid == 0 && cwd == \"/\"", BadUidLog);
        Assert.Equal(ReadResult.Record, reader.Read());
        Assert.True(reader.CannotMatch);
        Assert.True(reader.HasRecord);
        Assert.Equal(3, reader.LineCount);
        Assert.Equal(ReadResult.End, reader.Read());
    }

    [Fact]
    public void ARuledOutRecordAfterADecodedOneHoldsItsArchAndSyscallOnly()
    {
        // The execve record is decoded; the openat one after it is ruled out, and its record (made on demand)
        // keeps nothing of the execve record's uid and exe, although its event reuses the first one's storage
        // (PROCTITLE ends each event, so the first is handed on and recycled before the second starts).
        string first = Log.Replace("a3=zz", "a3=4") + "type=PROCTITLE msg=audit(1.001:10): proctitle=6C73\n";
        string log = first + first.Replace("1.001:10", "1.001:11").Replace("syscall=59", "syscall=257");
        using var reader = Matching("syscall == execve && uid == 1000 && exe == \"/usr/bin/ls\"", log);
        var builder = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.False(reader.CannotMatch);
        Assert.Equal(1000u, new Record(builder.Build()).U32(RecordLayout.Uid));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.CannotMatch);
        AssertArchAndSyscallOnly(new Record(builder.Build()));
        AssertArchAndSyscallOnly(new Record(reader.Record));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    private static void AssertArchAndSyscallOnly(Record record)
    {
        Assert.Equal((AuditArch.X86_64, 257u), (record.Arch, record.Syscall));
        Assert.Equal(0u, record.U32(RecordLayout.Uid));
        Assert.Empty(record.Exe.ToArray());
    }

    [Fact]
    public void ARecordTheFilterCanMatchIsDecodedAndChecked()
    {
        using var reader = Matching("syscall == execve && uid == 0", BadUidLog);
        Assert.Equal(ReadResult.Error, reader.Read());
        Assert.Contains("'uid'", reader.Error!.Message);
        // Its CWD record too, once the filter reads cwd.
        using var cwd = Matching("syscall == execve && cwd == \"/\"", BadUidLog);
        Assert.Equal(ReadResult.Error, cwd.Read());
        Assert.Contains("cwd", cwd.Error!.Message);
    }

    [Theory]
    [InlineData("arch=c000003e syscall=59x success=yes", "'syscall'")]
    [InlineData("arch=c00000zz syscall=59 success=yes", "'arch'")]
    [InlineData("arch=c000003e\x1d syscall=59", "'syscall' field")]
    [InlineData("arch=c000003e syscall=257 syscall=60", "duplicate")]
    public void ARecordIsRuledOutOnlyByAnArchAndSyscallThatDecode(string fields, string error)
    {
        using var reader = Matching("syscall == openat", $"type=SYSCALL msg=audit(1.001:10): {fields}\n");
        Assert.Equal(ReadResult.Error, reader.Read());
        Assert.Contains(error, reader.Error!.Message);
    }

    [Fact]
    public void ASignalTestKeepsEveryRecordDecoded()
    {
        // The table's promise is for sig 0: a filter reading sig decodes every record it reads.
        using var reader = Matching("syscall == openat || (sig == 11 && uid == 0)", BadUidLog);
        Assert.Equal(ReadResult.Error, reader.Read());
    }
}
