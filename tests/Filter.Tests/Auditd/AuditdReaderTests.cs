using System.IO.Compression;
using System.Text;
using Filter.Audit.Formats;
using Filter.Tests.Formats;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

public class AuditdReaderTests
{
    private const string Source = "audit.log";

    /// <summary>Read sizes for the stream under the reader: whole, awkward, and one byte at a time.</summary>
    public static TheoryData<int> ChunkSizes => new() { int.MaxValue, 7, 1 };

    /// <summary>A SYSCALL line with <paramref name="fields"/>, completed with the others the kernel always writes.</summary>
    private static string Syscall(string id, string fields, string tail = "") =>
        $"type=SYSCALL msg=audit({id}): {KernelText.Syscall(fields)}{(tail.Length > 0 ? "\x1d" + tail : "")}";

    private static string Other(string type, string id, string text = "x=1") => $"type={type} msg=audit({id}): {text}";

    private const string Execve =
        "arch=c000003e syscall=59 success=no exit=-13 a0=7ffd1234 a1=ffffffffffffffff a2=0 a3=8 items=2 " +
        "ppid=20000 pid=20001 auid=4294967295 uid=1 gid=2 euid=3 suid=4 fsuid=5 egid=6 sgid=7 fsgid=8 " +
        "tty=(none) ses=4294967295 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)";

    // ---- Field decoding -----------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void SyscallFieldsDecodeAsTheKernelWritesThem(int chunk)
    {
        var (reader, builder) = Open(Syscall("1795731042.524:565481", Execve) + "\n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasSyscall);
        Assert.True(reader.HasExit);
        Assert.Equal(new AuditdEventId(1795731042, 524, 565481), reader.EventId);
        Assert.Equal("1795731042.524:565481", reader.EventId.ToString());
        var expected = new Dictionary<string, ulong>
        {
            ["arch"] = AuditArch.X86_64, ["syscall"] = 59, ["exit"] = unchecked((ulong)-13L),
            ["a0"] = 0x7ffd1234, ["a1"] = ulong.MaxValue, ["a2"] = 0, ["a3"] = 8, ["a4"] = 0, ["a5"] = 0,
            ["pid"] = 20001, ["ppid"] = 20000, ["auid"] = uint.MaxValue, ["uid"] = 1, ["gid"] = 2, ["euid"] = 3,
            ["suid"] = 4, ["fsuid"] = 5, ["egid"] = 6, ["sgid"] = 7, ["fsgid"] = 8, ["ses"] = uint.MaxValue,
            ["success"] = 0, ["type"] = 0, ["sig"] = 0,   // event fields: a syscall record (type 0), no signal
            ["items"] = 2, ["time"] = 1795731042524, ["serial"] = 565481,
        };
        var record = new Record(builder.Build());
        foreach (var field in RecordLayout.Scalars)
            Assert.True(expected.GetValueOrDefault(field.Name) == record.Load(field), $"field {field.Name}: {record.Load(field)}");
        Assert.Equal(-13, record.Exit);
        Assert.Equal("ls", Encoding.UTF8.GetString(record.Comm));
        Assert.Equal("/usr/bin/ls", Encoding.UTF8.GetString(record.Exe));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    /// <summary>
    /// Eight-digit hex values (the arch, and a0 here), which are decoded eight bytes at once: every byte
    /// value but the line's and the fields' separators, at every place, reads as a hex parse of the text
    /// would, or is an error naming the field.
    /// </summary>
    [Fact]
    public void EightDigitHexValuesDecodeAsTheDigitsSay()
    {
        var lines = new List<(string Arch, string A0)>();
        for (int place = 0; place < 8; place++)
            for (int b = 1; b < 256; b++)
                if (b is not ('\n' or '\r' or ' ' or 0x1d))
                {
                    lines.Add(("c000003e"[..place] + (char)b + "c000003e"[(place + 1)..], "7ffd1234"));
                    lines.Add(("c000003e", "7ffd1234"[..place] + (char)b + "7ffd1234"[(place + 1)..]));
                }
        var text = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
            text.Append($"type=SYSCALL msg=audit(1.000:{i + 1}): {KernelText.Syscall($"arch={lines[i].Arch} syscall=59 success=yes exit=0 a0={lines[i].A0}")}\n")
                .Append($"type=PROCTITLE msg=audit(1.000:{i + 1}): proctitle=6C73\n"); // ends the event: results in line order
        using var reader = new AuditdReader(new MemoryStream(Encoding.Latin1.GetBytes(text.ToString())), Source);
        var builder = new RecordBuilder();
        foreach (var (arch, a0) in lines)
        {
            bool archHex = arch.All(char.IsAsciiHexDigit), a0Hex = a0.All(char.IsAsciiHexDigit);
            var result = reader.Read(builder);
            if (archHex && a0Hex)
            {
                Assert.True(result == ReadResult.Record, $"arch={arch} a0={a0}: {reader.Error?.Message}");
                var record = new Record(builder.Build());
                Assert.Equal((Convert.ToUInt32(arch, 16), Convert.ToUInt64(a0, 16)), (record.Arch, record.Load(RecordLayout.Scalars.First(f => f.Name == "a0"))));
            }
            else
            {
                Assert.True(result == ReadResult.Error, $"arch={arch} a0={a0} read as a record");
                Assert.Contains(archHex ? "'a0'" : "'arch'", reader.Error!.Message);
                Assert.Equal(ReadResult.Record, reader.Read(builder));   // its PROCTITLE, an event without a record
                Assert.False(reader.HasRecord);
            }
        }
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void HexEncodedNullAndQuotedStringsDecode()
    {
        // The kernel hex-encodes a value holding a space, quote, control or non-ASCII byte.
        var (reader, builder) = Open(
            Syscall("1.1:1", "arch=c000003e syscall=0 success=yes exit=0 comm=2F746D702F78 exe=2f746d702f6120622263") + "\n" +
            Syscall("1.1:2", "arch=40000003 syscall=0 success=yes exit=0 comm=(null) exe=(null)") + "\n" +
            Syscall("1.1:3", "arch=C00000B7 syscall=0 success=yes exit=0 comm=\"a=b\" exe=\"\"") + "\n");

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var record = new Record(builder.Build());
        Assert.Equal("/tmp/x", Encoding.UTF8.GetString(record.Comm));
        Assert.Equal("/tmp/a b\"c", Encoding.UTF8.GetString(record.Exe));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        record = new Record(builder.Build());
        Assert.Equal(AuditArch.I386, record.Arch);
        Assert.True(record.Comm.IsEmpty);
        Assert.True(record.Exe.IsEmpty);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        record = new Record(builder.Build());
        Assert.Equal(AuditArch.Aarch64, record.Arch);
        Assert.Equal("a=b", Encoding.UTF8.GetString(record.Comm));
        Assert.True(record.Exe.IsEmpty);
    }

    [Fact]
    public void TheEnrichedTailIsIgnoredAndNodePrefixAccepted()
    {
        // Fields in the ENRICHED tail (even lower-case ones) are not the kernel's: only the text before \x1d counts.
        string line = "node=host-1.example " + Syscall("5.006:7", "arch=c000003e syscall=257 success=yes exit=3 uid=0",
            "ARCH=x86_64 SYSCALL=openat uid=99 exit=-1 UID=\"root\"");
        var (reader, builder) = Open(line + "\n");

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var record = new Record(builder.Build());
        Assert.Equal(257u, record.Syscall);
        Assert.Equal(3, record.Exit);
        Assert.Equal(0u, record.U32(RecordLayout.Uid));
        Assert.Equal(new AuditdEventId(5, 6, 7), reader.EventId);
        Assert.Equal("5.006:7", reader.EventId.ToString());
        Assert.Equal(line, Encoding.UTF8.GetString(reader.GetLine(0)));
    }

    [Fact]
    public void ExitGroupHasNoReturnValue()
    {
        var (reader, builder) = Open(
            Syscall("1.0:1", "arch=c000003e syscall=231 a0=0 a1=e7 a2=3c a3=0 items=0 pid=5 comm=\"ls\"") + "\n" +
            Syscall("1.0:2", "arch=c000003e syscall=0 success=yes exit=0") + "\n");

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasSyscall);
        Assert.False(reader.HasExit);
        var record = new Record(builder.Build());
        Assert.Equal(231u, record.Syscall);
        Assert.Equal(0, record.Exit);
        Assert.False(record.Success);
        Assert.Equal(0xe7UL, record.U64(RecordLayout.A1));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasExit);
        Assert.True(new Record(builder.Build()).Success);
    }

    [Fact]
    public void EventsWithoutASyscallRecordAreEvents()
    {
        string user = "type=USER_LOGIN msg=audit(9.100:50): pid=1 uid=0 auid=4242 ses=3 msg='op=login acct=\"x\" res=success'\x1dUID=\"root\"";
        var (reader, builder) = Open(
            Syscall("9.100:49", "arch=c000003e syscall=1 success=yes exit=1 uid=7") + "\n" +
            user + "\n" +
            Other("CONFIG_CHANGE", "9.100:51", "op=add_rule key=\"k\" list=4 res=1") + "\n");

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasSyscall);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.False(reader.HasSyscall);
        Assert.False(reader.HasExit);
        Assert.Equal(user, Encoding.UTF8.GetString(reader.GetLine(0)));
        // The previous event's record is gone: nothing leaks into an event without SYSCALL.
        Assert.Equal(new RecordBuilder().ToArray(), builder.ToArray());

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.False(reader.HasSyscall);
        Assert.Equal(3, reader.FirstLineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    /// <summary>
    /// An event without SYSCALL but with ANOM_ABEND has the signal record the live source makes; a SYSCALL record
    /// wins wherever it is in the event; only the first ANOM_ABEND counts; a bad one is an error naming its line.
    /// </summary>
    [Fact]
    public void AnAnomAbendEventHasASignalRecord()
    {
        const string abend = "auid=4244 uid=0 gid=0 ses=117 subj=unconfined pid=22224 comm=\"service\" exe=\"/tmp/s\" sig=11 res=1";
        var (reader, builder) = Open(
            Other("ANOM_ABEND", "5.0:1", abend) + "\x1dAUID=\"x\"\n" +
            Other("ANOM_ABEND", "5.0:2", KernelText.AnomAbend("pid=7 sig=6 res=1")) + "\n" +
            Other("ANOM_ABEND", "5.0:2", KernelText.AnomAbend("pid=x sig=11 res=1")) + "\n" +                  // a second one is not decoded
            Other("ANOM_ABEND", "5.0:3", KernelText.AnomAbend("pid=8 sig=11 res=1")) + "\n" +
            Syscall("5.0:3", "arch=c000003e syscall=62 success=yes exit=0 pid=8") + "\n" +   // SYSCALL wins even after
            Other("ANOM_ABEND", "5.0:4", KernelText.AnomAbend("pid=y sig=11 res=1")) + "\n" +
            Other("PROCTITLE", "5.0:4", "proctitle=6C73") + "\n");

        // The bad line is found as it is read, before the events held before it are complete.
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 6, "ANOM_ABEND field 'pid': expected a decimal number up to 4294967295, got y"), reader.Error);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasSignal && reader.HasRecord && !reader.HasSyscall && !reader.HasExit);
        var r = new Record(builder.Build());
        Assert.Equal((RecordLayout.EventTypeSignal, 11u, 22224u, 4244u, 0u, 0u, 0L), (r.Bytes[RecordLayout.Type], r.U32(RecordLayout.Sig),
            r.U32(RecordLayout.Pid), r.U32(RecordLayout.Auid), r.Arch, r.Syscall, r.Exit));
        Assert.Equal("/tmp/s", Encoding.UTF8.GetString(r.Exe));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(2, reader.LineCount);
        Assert.Equal((6u, 7u), (new Record(builder.Build()).U32(RecordLayout.Sig), new Record(builder.Build()).U32(RecordLayout.Pid)));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.True(reader.HasSyscall && !reader.HasSignal);
        Assert.Equal((RecordLayout.EventTypeSyscall, 62u, 0u), (builder.Build()[RecordLayout.Type], new Record(builder.Build()).Syscall, new Record(builder.Build()).U32(RecordLayout.Sig)));

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.False(reader.HasRecord);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    /// <summary>As for SYSCALL, an ANOM_ABEND decodes only the fields the filter reads: a bad field it does not read is not noticed.</summary>
    [Fact]
    public void AnAnomAbendDecodesOnlyTheFieldsRead()
    {
        var input = new MemoryStream(Encoding.UTF8.GetBytes(Other("ANOM_ABEND", "5.0:1", "uid=0 pid=z comm=\"sh\" sig=11 res=1") + "\n"));
        using var reader = new AuditdReader(input, Source) { Fields = ["sig", "type"] };
        var builder = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        var r = new Record(builder.Build());
        Assert.Equal((RecordLayout.EventTypeSignal, 11u, 0u), (r.Bytes[RecordLayout.Type], r.U32(RecordLayout.Sig), r.U32(RecordLayout.Pid)));
        Assert.Empty(r.Comm.ToArray());
    }

    // ---- Grouping -----------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void AdjacentRecordsFormOneEventWithTheirOriginalLines(int chunk)
    {
        string[] a =
        [
            Syscall("1.000:1", "arch=c000003e syscall=59 success=yes exit=0 comm=\"sh\"", "ARCH=x86_64 SYSCALL=execve"),
            Other("EXECVE", "1.000:1", "argc=1 a0=\"sh\""),
            Other("PROCTITLE", "1.000:1", "proctitle=7368"),
        ];
        string[] b = [Other("LOGIN", "1.000:2", "pid=1 uid=0"), Syscall("1.000:2", "arch=c000003e syscall=1 success=yes exit=1")];
        var (reader, builder) = Open(string.Join("\n", [.. a, .. b]) + "\n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, a);
        Assert.Equal(1, reader.FirstLineNumber);
        Assert.Equal([1L, 2, 3], Enumerable.Range(0, 3).Select(reader.GetLineNumber));
        Assert.Equal(59u, new Record(builder.Build()).Syscall);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, b);
        Assert.Equal(4, reader.FirstLineNumber);
        Assert.Equal(Source, reader.GetLineSource(0));
        Assert.Equal(1u, new Record(builder.Build()).Syscall);
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void InterleavedEventsAreGroupedByIdInFirstLineOrder(int chunk)
    {
        string a1 = Syscall("2.5:10", "arch=c000003e syscall=41 success=yes exit=3"), a2 = Other("SOCKADDR", "2.5:10"), a3 = Other("PROCTITLE", "2.5:10");
        string b1 = Other("CWD", "2.5:11"), b2 = Syscall("2.5:11", "arch=c000003e syscall=42 success=no exit=-111"), b3 = Other("PROCTITLE", "2.5:11");
        string c1 = Syscall("2.6:10", "arch=c000003e syscall=0 success=yes exit=0"); // same serial, other time
        var (reader, builder) = Open(string.Join("\n", a1, b1, a2, c1, b2, a3, b3) + "\n", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a1, a2, a3]);
        Assert.Equal([1L, 3, 6], Enumerable.Range(0, 3).Select(reader.GetLineNumber));
        Assert.Equal(41u, new Record(builder.Build()).Syscall);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [b1, b2, b3]);
        Assert.Equal(-111, new Record(builder.Build()).Exit);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [c1]);
        Assert.Equal(new AuditdEventId(2, 6, 10), reader.EventId);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void AnEventIsCompleteWhenMaxOpenEventsNewerOnesHaveStarted()
    {
        // With 2 open events: C's start completes A, so A's late record starts a new event after C.
        string a1 = Other("CWD", "1.0:1"), b1 = Other("CWD", "1.0:2"), c1 = Other("CWD", "1.0:3");
        string b2 = Other("MMAP", "1.0:2"), a2 = Other("MMAP", "1.0:1");
        var (reader, builder) = Open(string.Join("\n", a1, b1, c1, b2, a2) + "\n", maxOpenEvents: 2);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a1]);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [b1, b2]);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [c1]);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a2]);
        Assert.Equal(5, reader.FirstLineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void EoeEndsAnEventAtOnce()
    {
        string a1 = Syscall("1.0:1", "arch=c000003e syscall=0 success=yes exit=0"), eoe = "type=EOE msg=audit(1.0:1): ";
        string b1 = Other("CWD", "1.0:2"), late = Other("MMAP", "1.0:1");
        var input = new ConcatStream(
            new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", a1, eoe, b1, late) + "\n")),
            new RepeatStream((byte)'\n', 1 << 20)); // a long run of blank lines
        var builder = new RecordBuilder();
        using var reader = new AuditdReader(input, Source);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a1, eoe]);
        // Emitted without reading ahead past the EOE (the next line is still unread).
        Assert.Equal(2, reader.LinesRead);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [b1]);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [late]);
        Assert.False(reader.HasSyscall);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void CrlfBlankLinesAndAMissingFinalNewline(int chunk)
    {
        string a = Syscall("1.0:1", "arch=c000003e syscall=3 success=yes exit=0 comm=\"x\"") + "\r";
        string b = Syscall("1.0:2", "arch=c000003e syscall=4 success=yes exit=0 comm=\"y\"");
        var (reader, builder) = Open($"\r\n{a}\n  \n\n{b}", chunk);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a]); // the '\r' stays, so the line can be written back unchanged
        Assert.Equal(2, reader.FirstLineNumber);
        Assert.Equal("x", Encoding.UTF8.GetString(new Record(builder.Build()).Comm));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [b]);
        Assert.Equal(5, reader.FirstLineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    // ---- Errors -------------------------------------------------------------------------------------

    public static TheoryData<string, string> BadSyscallFields => new()
    {
        { "arch=0xc000003e syscall=1", "SYSCALL field 'arch': expected an AUDIT_ARCH value in hex without 0x, got 0xc000003e" },
        { "arch=1c000003e syscall=1", "SYSCALL field 'arch': expected an AUDIT_ARCH value in hex without 0x, got 1c000003e" },
        { "arch=c000003e syscall=-1", "SYSCALL field 'syscall': expected a decimal number up to 4294967295, got -1" },
        { "arch=c000003e syscall=", "SYSCALL field 'syscall': expected a decimal number up to 4294967295, got " },
        { "arch=c000003e syscall=1 uid=4294967296", "SYSCALL field 'uid': expected a decimal number up to 4294967295, got 4294967296" },
        { "arch=c000003e syscall=1 ses=\"1\"", "SYSCALL field 'ses': expected a decimal number up to 4294967295, got \"1\"" },
        { "arch=c000003e syscall=1 exit=9223372036854775808", "SYSCALL field 'exit': expected a signed 64-bit decimal number, got 9223372036854775808" },
        { "arch=c000003e syscall=1 exit=0x1", "SYSCALL field 'exit': expected a signed 64-bit decimal number, got 0x1" },
        { "arch=c000003e syscall=1 success=1", "SYSCALL field 'success': expected yes or no, got 1" },
        { "arch=c000003e syscall=1 a0=10000000000000000", "SYSCALL field 'a0': expected a 64-bit hex number without 0x, got 10000000000000000" },
        { "arch=c000003e syscall=1 a3=g", "SYSCALL field 'a3': expected a 64-bit hex number without 0x, got g" },
        { "arch=c000003e syscall=1 comm=ls", "SYSCALL field 'comm': expected a quoted string, hex-encoded bytes or (null), got ls" },
        { "arch=c000003e syscall=1 exe=2F7", "SYSCALL field 'exe': expected a quoted string, hex-encoded bytes or (null), got 2F7" },
        { "arch=c000003e syscall=1 comm=\"ls", "SYSCALL field 'comm': unterminated quoted value" },
        { "arch=c000003e syscall=1 uid=1 uid=1", "SYSCALL field 'uid': duplicate field" },
        // In the kernel's order as far as it goes, then not.
        { "arch=c000003e syscall=1 syscall=2", "SYSCALL field 'syscall': duplicate field" },
        { "arch=c000003e syscall=1 success=yes exit=0 a0=1  a0=2", "SYSCALL field 'a0': duplicate field" },
        { "arch=c000003e syscall=1 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2 auid=x uid=0",
            "SYSCALL field 'auid': expected a decimal number up to 4294967295, got x" },
        { "arch=c000003e syscall=1 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2 auid=1 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"ls",
            "SYSCALL field 'comm': unterminated quoted value" },
        { "syscall=1 uid=1", "SYSCALL record has no 'arch' field (the kernel always writes it: the line is cut short or damaged)" },
        { "arch=c000003e", "SYSCALL record has no 'syscall' field (the kernel always writes it: the line is cut short or damaged)" },
    };

    [Theory]
    [MemberData(nameof(BadSyscallFields))]
    public void AMalformedSyscallFieldIsAnErrorAndTheEventGoesOn(string fields, string message)
    {
        string proctitle = Other("PROCTITLE", "3.0:1", "proctitle=6C73");
        var (reader, builder) = Open(Syscall("3.0:1", fields) + "\n" + proctitle + "\n");

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 1, message), reader.Error);
        // The bad line is left out; the rest of its event is still an event, without a SYSCALL record.
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [proctitle]);
        Assert.False(reader.HasSyscall);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    /// <summary>
    /// A SYSCALL record cut short read as root: its absent ids were 0. A field the kernel always writes is
    /// required (of those decoded), and a bare word is not a field.
    /// </summary>
    [Theory]
    [InlineData("arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3", null, "SYSCALL record: 'a3' is not a KEY=VALUE field (the line is cut short or damaged)")]
    [InlineData("arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3", "uid", "SYSCALL record: 'a3' is not a KEY=VALUE field (the line is cut short or damaged)")]
    [InlineData("arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=0 ppid=1 pid=2", "uid",
        "SYSCALL record has no 'uid' field (the kernel always writes it: the line is cut short or damaged)")]
    [InlineData("arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2", null,
        "SYSCALL record has no 'a2' field (the kernel always writes it: the line is cut short or damaged)")]
    public void ASyscallRecordCutShortIsMalformedNotRoot(string fields, string? reads, string message)
    {
        var input = new MemoryStream(Encoding.UTF8.GetBytes($"type=SYSCALL msg=audit(1.0:1): {fields}\n"));
        using var reader = new AuditdReader(input, Source) { Fields = reads is null ? null : [reads] };
        Assert.Equal(ReadResult.Error, reader.Read());
        Assert.Equal(InputErrors.Malformed(Source, 1, message), reader.Error);
    }

    [Fact]
    public void AFieldTheFilterDoesNotReadNeedNotBeThere()
    {
        // Decoding stops at the fields the filter reads (spec/auditd.md): the same cut line is fine for `syscall == execve`.
        var input = new MemoryStream(Encoding.UTF8.GetBytes("type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=59 success=yes exit=0 a0=1\n"));
        using var reader = new AuditdReader(input, Source) { Fields = ["syscall"] };
        Assert.Equal(ReadResult.Record, reader.Read());
    }

    [Fact]
    public void AnAnomAbendWithoutItsSignalIsMalformed()
    {
        var input = new MemoryStream(Encoding.UTF8.GetBytes("type=ANOM_ABEND msg=audit(1.0:1): auid=1 uid=0 gid=0 ses=1 pid=5 comm=\"x\" exe=\"/x\"\n"));
        using var reader = new AuditdReader(input, Source);
        Assert.Equal(ReadResult.Error, reader.Read());
        Assert.Equal("ANOM_ABEND record has no 'sig' field (the kernel always writes it: the line is cut short or damaged)", reader.Error!.Message);
    }

    public static TheoryData<string, string> BadLines => new()
    {
        { "hello", "expected a record 'type=TYPE msg=audit(...)', got 'hello'" },
        { "\u0001\u0002binary", "expected a record 'type=TYPE msg=audit(...)', got '\\x01\\x02binary'" },
        { "node=abc", "expected 'type=' after the node name" },
        { "type=SYSCALL", "expected a record type and ' msg=audit(' after 'type='" },
        { "type=SYSCALL arch=c000003e", "expected 'msg=audit(' after 'type=SYSCALL'" },
        { "type=SYSCALL msg=audit(1795731042.524:565481", "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):" },
        { "type=SYSCALL msg=audit(1795731042:565481): arch=c000003e", "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):" },
        { "type=PATH msg=audit(1.2:x): item=0", "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):" },
        { "type=PATH msg=audit(1.2:99999999999999999999): item=0", "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):" },
        { "ARCH=x86_64 SYSCALL=openat", "expected a record 'type=TYPE msg=audit(...)', got 'ARCH=x86_64 SYSCALL=openat'" },
        // A time whose milliseconds do not fit in 63 bits (the record's timestamp) once made replays throw.
        { "type=SYSCALL msg=audit(9300000000000000.000:1): arch=c000003e syscall=59",
            "event time 9300000000000000.000 is out of range (seconds at most 9223372036854774, milliseconds 000 to 999)" },
        { "type=PATH msg=audit(9223372036854775.000:1): item=0",
            "event time 9223372036854775.000 is out of range (seconds at most 9223372036854774, milliseconds 000 to 999)" },
        { "type=PATH msg=audit(1.1000:1): item=0", "event time 1.1000 is out of range (seconds at most 9223372036854774, milliseconds 000 to 999)" },
    };

    /// <summary>
    /// Ids that share their start with the one before (the reader parses only what differs): longer and
    /// shorter serials, seconds and milliseconds, and bad ids after good ones.
    /// </summary>
    [Fact]
    public void IdsSharingTheirStartWithTheLastOneReadWhole()
    {
        string[] ids =
        [
            "1700000000.123:99", "1700000000.123:100", "1700000000.123:1", "1700000000.124:1", "1700000000.024:1",
            "1700000001.024:1", "170000000.024:1", "1700000000.123:99", "1700000000.1:99", "17000000001.123:99",
        ];
        string text = string.Join("", ids.Select(id => Other("PROCTITLE", id) + "\n"))
            + "type=PROCTITLE msg=audit(17000000001.12x:99): x=1\n"
            + "type=PROCTITLE msg=audit(17000000001.123:9x): x=1\n"
            + "type=PROCTITLE msg=audit(17000000001.123:99) x=1\n"
            + Other("PROCTITLE", "17000000001.123:98") + "\n";
        var (reader, builder) = Open(text);
        foreach (var id in ids)
        {
            Assert.Equal(ReadResult.Record, reader.Read(builder));
            Assert.Equal(id.Replace(".1:", ".001:"), reader.EventId.ToString());
        }
        for (int line = ids.Length + 1; line <= ids.Length + 3; line++)
        {
            Assert.Equal(ReadResult.Error, reader.Read(builder));
            Assert.Equal(InputErrors.Malformed(Source, line, "malformed event id: expected msg=audit(SECONDS.MILLISECONDS:SERIAL):"), reader.Error);
        }
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(new AuditdEventId(17000000001, 123, 98), reader.EventId);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void TheLatestTimeReadsAndConvertsExactly()
    {
        var (reader, builder) = Open(Syscall("9223372036854774.999:1", "arch=c000003e syscall=2 success=yes exit=0") + "\n");
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(9223372036854774999L, reader.EventId.UnixMilliseconds);
    }

    [Theory]
    [MemberData(nameof(BadLines))]
    public void AMalformedLineIsAnErrorNamingItsLine(string bad, string message)
    {
        string good = Syscall("1.0:1", "arch=c000003e syscall=2 success=yes exit=0");
        var (reader, builder) = Open($"\n{bad}\n{good}\n");

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, message), reader.Error);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [good]);
        Assert.Equal(3, reader.FirstLineNumber);
        Assert.Equal(ReadResult.End, reader.Read(builder));
    }

    [Fact]
    public void ErrorsComeInLineOrderAndReadingGoesOn()
    {
        string a = Syscall("1.0:1", "arch=c000003e syscall=1 success=yes exit=1"), b = Other("CWD", "1.0:2");
        string twice = Syscall("1.0:1", "arch=c000003e syscall=2 success=yes exit=1");
        var (reader, builder) = Open($"{a}\njunk\n{b}\n{twice}\ntype=X msg=audit(:)\n");

        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(2, reader.Error!.Location.Line);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 4, "a second SYSCALL record for event 1.000:1 (the first is at line 1)"), reader.Error);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(5, reader.Error!.Location.Line);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a]);
        Assert.Equal(1u, new Record(builder.Build()).Syscall);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [b]);
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal(5, reader.LinesRead);
    }

    [Fact]
    public void AnOverLongLineIsSkippedInBoundedMemory()
    {
        const long huge = 64L << 20;
        string a = Other("CWD", "1.0:1"), b = Other("MMAP", "1.0:1");
        var input = new ConcatStream(
            new MemoryStream(Encoding.UTF8.GetBytes(a + "\n")),
            new RepeatStream((byte)'x', huge),
            new MemoryStream(Encoding.UTF8.GetBytes("\n" + b + "\n")),
            new RepeatStream((byte)'y', huge)); // and a last over-long line without '\n'
        var builder = new RecordBuilder();
        using var reader = new AuditdReader(input, Source);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, $"line is {huge} bytes, longer than the limit of 1048576 bytes"), reader.Error);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(4, reader.Error!.Location.Line);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a, b]); // the event survives the bad line between its records
        Assert.Equal(ReadResult.End, reader.Read(builder));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated < 4L << 20, $"allocated {allocated} bytes skipping {2 * huge} bytes of over-long lines");
    }

    [Fact]
    public void ASmallLineLimitApplies()
    {
        string ok = Other("CWD", "1.0:1", "cwd=\"/\"");
        var (reader, builder) = Open($"{ok}\n{ok}xxxxxxxxxxxx\n", maxLineBytes: ok.Length);
        Assert.Equal(ReadResult.Error, reader.Read(builder));
        Assert.Equal(InputErrors.Malformed(Source, 2, $"line is {ok.Length + 12} bytes, longer than the limit of {ok.Length} bytes"), reader.Error);
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [ok]);
    }

    // ---- Inputs -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(ChunkSizes))]
    public void GzipIsRecognisedByItsMagicBytesOnAnyStream(int chunk)
    {
        string a = Syscall("1.0:1", "arch=c000003e syscall=59 success=yes exit=0 comm=\"gz\"");
        byte[] compressed = Gzip(a + "\n" + a.Replace("1.0:1", "1.0:2") + "\n");
        using var input = AuditdInput.Decompressing(new ChunkedStream(compressed, chunk));
        var builder = new RecordBuilder();
        using var reader = new AuditdReader(input, Source);

        Assert.Equal(ReadResult.Record, reader.Read(builder));
        AssertLines(reader, [a]);
        Assert.Equal("gz", Encoding.UTF8.GetString(new Record(builder.Build()).Comm));
        Assert.Equal(ReadResult.Record, reader.Read(builder));
        Assert.Equal(ReadResult.End, reader.Read(builder));

        // Plain and short inputs pass through.
        foreach (string text in new[] { a + "\n", "t", "" })
        {
            using var plain = AuditdInput.Decompressing(new ChunkedStream(Encoding.UTF8.GetBytes(text), chunk));
            Assert.Equal(text, new StreamReader(plain).ReadToEnd());
        }
    }

    [Fact]
    public void SeveralFilesReadAsOneLogWithEventsAcrossTheBoundary()
    {
        string dir = Directory.CreateTempSubdirectory("auditd-tests").FullName;
        try
        {
            // Rotated: the older file is compressed (named without .gz) and ends mid-event, without '\n'.
            string a1 = Syscall("1.0:1", "arch=c000003e syscall=1 success=yes exit=1"), a2 = Other("PROCTITLE", "1.0:1");
            string b1 = Syscall("1.0:2", "arch=c000003e syscall=2 success=yes exit=1");
            string older = Path.Combine(dir, "audit.log.1"), newer = Path.Combine(dir, "audit.log");
            File.WriteAllBytes(older, Gzip("\n" + a1));
            File.WriteAllText(newer, $"{a2}\n{b1}\nbad\n");
            string missing = Path.Combine(dir, "nope.log");

            var builder = new RecordBuilder();
            using var reader = AuditdReader.OpenFiles([missing, older, newer]);
            Assert.Equal(ReadResult.Error, reader.Read(builder));
            Assert.Equal(missing, reader.Error!.File);
            Assert.Equal(0, reader.Error!.Location.Line);
            Assert.StartsWith("cannot open: ", reader.Error!.Message);

            // The event's PROCTITLE ends it (EventEnd): it is complete before the bad line is read.
            Assert.Equal(ReadResult.Record, reader.Read(builder));
            AssertLines(reader, [a1, a2]);
            Assert.Equal([older, newer], Enumerable.Range(0, 2).Select(reader.GetLineSource));
            Assert.Equal([2L, 1], Enumerable.Range(0, 2).Select(reader.GetLineNumber));

            Assert.Equal(ReadResult.Error, reader.Read(builder));
            Assert.Equal(InputErrors.Malformed(newer, 3, "expected a record 'type=TYPE msg=audit(...)', got 'bad'"), reader.Error);
            Assert.Equal(ReadResult.Record, reader.Read(builder));
            AssertLines(reader, [b1]);
            Assert.Equal(ReadResult.End, reader.Read(builder));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void CorruptCompressedDataIsAnErrorNotACrash()
    {
        byte[] compressed = Gzip(string.Concat(Enumerable.Repeat(Other("CWD", "1.0:1") + "\n", 1000)));
        compressed[compressed.Length / 2] ^= 0xff;
        using var input = AuditdInput.Decompressing(new MemoryStream(compressed));
        var builder = new RecordBuilder();
        using var reader = new AuditdReader(input, Source);

        var results = new List<ReadResult>();
        for (int i = 0; i < 2000 && (results.Count == 0 || results[^1] != ReadResult.End); i++)
            results.Add(reader.Read(builder));
        Assert.Equal(ReadResult.End, results[^1]);
        Assert.True(results.Count < 2000);
    }

    [Fact]
    public void ATruncatedGzipIsAnUnreadableInputNotAShorterLog()
    {
        // GZipStream ended such an input without an error: the rest of the log was lost silently.
        string line = Other("CWD", "1.0:1");
        byte[] compressed = Gzip(string.Concat(Enumerable.Repeat(line + "\n", 1000)));
        using var input = AuditdInput.Decompressing(new MemoryStream(compressed[..(compressed.Length - 5)]));
        using var reader = new AuditdReader(input, Source);
        ReadResult result;
        while ((result = reader.Read()) == ReadResult.Record) { }
        Assert.Equal(ReadResult.Error, result);
        Assert.Equal(DiagnosticCode.CannotRead, reader.Error!.Code);
        Assert.Equal(1001, reader.Error!.Location.Line);
        Assert.StartsWith("cannot read past here: the gzip data is truncated: it ends inside the trailer", reader.Error!.Message);
        // The events held when it failed still come out, then the end.
        while ((result = reader.Read()) == ReadResult.Record) { }
        Assert.Equal(ReadResult.End, result);
    }

    [Fact]
    public void CountingWithoutKeepingLinesGroupsEventsAsPrintingDoes()
    {
        // Past the 64 MB buffered-bytes limit: once, not keeping lines still counted them as buffered, so
        // every event from there on was cut into one event per record.
        byte[] log = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs", "case_pub_sockets.log"));
        const int copies = 24; // 24 x 2.98 MB = 72 MB
        var input = new byte[log.Length * copies];
        for (int i = 0; i < copies; i++) log.CopyTo(input, i * log.Length);

        long Count(bool keepLines)
        {
            var builder = new RecordBuilder();
            using var reader = new AuditdReader([new AuditdSource("big.log", () => new MemoryStream(input))]) { KeepLines = keepLines };
            long events = 0;
            ReadResult result;
            while ((result = reader.Read(builder)) == ReadResult.Record) events++;
            Assert.True(result == ReadResult.End, reader.Error?.Render());
            return events;
        }

        Assert.Equal(4252L * copies, Count(keepLines: false));
        Assert.Equal(4252L * copies, Count(keepLines: true));
    }

    // ---- Allocation ---------------------------------------------------------------------------------

    [Fact]
    public void ReadingEventsAllocatesNothingInSteadyState()
    {
        string log = Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs", "case_pub_sockets.log");
        const int copies = 8, perCopy = 4252, from = 20_000, to = copies * perCopy - 100;
        var input = new MemoryStream();
        for (int i = 0; i < copies; i++) input.Write(File.ReadAllBytes(log));
        var builder = new RecordBuilder();
        // Up to three rounds, each a new reader over the same bytes (Allocations.AssertNoneIn): a shared
        // pool trimmed by a collection elsewhere in the test run refills once, in one round, never per event.
        Allocations.AssertNoneIn(() =>
        {
            input.Position = 0;
            using var reader = new AuditdReader(input, Source);
            // Measured from when the pooled storage has settled to before the end of input, where the last
            // events drain and the line buffer goes back to the pool (one-time pool bookkeeping).
            long before = 0, allocated = 0, events = 0;
            ReadResult result;
            while ((result = reader.Read(builder)) == ReadResult.Record)
            {
                events++;
                if (events == from) before = GC.GetAllocatedBytesForCurrentThread();
                if (events == to) allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            Assert.True(result == ReadResult.End, reader.Error?.Render());
            // The copies repeat ids: each copy's events are still separate (they are > 64 events apart).
            Assert.Equal(copies * perCopy, events);
            return allocated;
        }, $"reading events {from} to {to}");
    }

    // ---- Helpers ------------------------------------------------------------------------------------

    private static (AuditdReader Reader, RecordBuilder Builder) Open(string text, int chunk = int.MaxValue,
        int maxLineBytes = 1 << 20, int maxOpenEvents = 64) =>
        (new AuditdReader(new ChunkedStream(Encoding.UTF8.GetBytes(text), chunk), Source, maxLineBytes, maxOpenEvents), new RecordBuilder());

    private static void AssertLines(AuditdReader reader, string[] expected) =>
        Assert.Equal(expected, Enumerable.Range(0, reader.LineCount).Select(i => Encoding.UTF8.GetString(reader.GetLine(i))));

    private static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(text));
        return output.ToArray();
    }
}
