using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Text;
using Filter.Audit.Formats;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Live;

/// <summary>
/// The live source's parsing, assembly and decoding, on real NETLINK_AUDIT multicast datagrams captured on
/// this kind of machine (Data/live/capture.hex, made by Data/live/capture.py: execve and failed-openat
/// events, and an ANOM_ABEND of a shell killed by SIGSEGV). No kernel needed.
/// </summary>
public class LiveCaptureTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private static List<byte[]> Datagrams() =>
        File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Data", "live", "capture.hex"))
            .Where(l => l.Length > 0).Select(Convert.FromHexString).ToList();

    /// <summary>Every record of the capture as (type, payload).</summary>
    private static List<(ushort Type, byte[] Payload)> Records()
    {
        var records = new List<(ushort, byte[])>();
        foreach (var d in Datagrams())
        {
            int offset = 0, count = 0;
            while (Netlink.TryRead(d, ref offset, out var m))
            {
                records.Add((m.Type, d.AsSpan(m.PayloadOffset, m.PayloadLength).ToArray()));
                count++;
            }
            Assert.Equal(1, count);
            Assert.Equal(d.Length, offset);
        }
        return records;
    }

    private static List<LiveEvent> Assemble(out EventAssembler assembler)
    {
        assembler = new EventAssembler(TimeSpan.FromMilliseconds(250));
        var done = new List<LiveEvent>();
        foreach (var (type, payload) in Records()) assembler.Add(type, payload, 0, done);
        assembler.Flush(done);
        return done;
    }

    [Fact]
    public void EveryDatagramIsOneRecordWithAnEventId()
    {
        var records = Records();
        Assert.True(records.Count > 100);
        foreach (var (type, payload) in records)
        {
            Assert.InRange(type, RecordTypes.FirstRecordType, (ushort)2999);
            Assert.True(AuditRecordText.TryParse(payload, out var id, out _), Encoding.ASCII.GetString(payload));
            Assert.True(id.Serial > 0);
        }
    }

    [Fact]
    public void EventsEndAtEoeAndStandaloneRecordsAtTheTimeout()
    {
        var records = Records();
        var assembler = new EventAssembler(TimeSpan.FromMilliseconds(250));
        var done = new List<LiveEvent>();
        foreach (var (type, payload) in records) assembler.Add(type, payload, 0, done);
        int eoes = records.Count(r => r.Type == RecordTypes.Eoe);
        Assert.Equal(eoes, done.Count);
        Assert.All(done, e => Assert.True(e.EndedByEoe));
        Assert.All(done, e => Assert.Equal(RecordTypes.Syscall, e.Records[0].Type is RecordTypes.ConfigChange ? e.Records[1].Type : e.Records[0].Type));

        // The ANOM_ABEND has no EOE: still open just before the timeout, complete at it.
        Assert.Equal(1, assembler.OpenCount);
        assembler.Expire(Second / 4 - 1, done);
        Assert.Equal(eoes, done.Count);
        assembler.Expire(Second / 4, done);
        var abend = Assert.Single(done.Skip(eoes));
        Assert.False(abend.EndedByEoe);
        Assert.Equal(RecordTypes.AnomAbend, Assert.Single(abend.Records).Type);
        Assert.Equal(0, assembler.OpenCount);
    }

    [Fact]
    public void AuditdTextOfTheEventsHasAuditdsShape()
    {
        var events = Assemble(out _);
        var text = events.First(e => e.Records.Any(r => r.Type == RecordTypes.Execve)).ToAuditdText();
        Assert.StartsWith("type=SYSCALL msg=audit(", text);
        Assert.Contains("\ntype=EXECVE msg=audit(", text);
        Assert.Contains("\ntype=PROCTITLE msg=audit(", text);
        Assert.DoesNotContain("EOE", text);
        Assert.EndsWith("\n", text);
    }

    /// <summary>The live decoding of each event (syscall and signal records) equals the auditd reader's decoding of the same event's text.</summary>
    [Fact]
    public void RecordsDecodeAsTheAuditdReaderDecodesTheirText()
    {
        var events = Assemble(out _);
        using var log = new MemoryStream();
        foreach (var e in events) e.WriteAuditd(log);
        log.Position = 0;
        using var reader = new AuditdReader(log, "capture");
        var builder = new RecordBuilder();
        var decoder = new LiveEventDecoder();
        int syscalls = 0, signals = 0;
        foreach (var e in events)
        {
            Assert.Equal(ReadResult.Record, reader.Read(builder));
            Assert.Equal(e.Id, reader.EventId);
            var kind = decoder.Decode(e, out var record);
            Assert.Equal(reader.HasSyscall ? LiveEventKind.Syscall : reader.HasSignal ? LiveEventKind.Signal : LiveEventKind.NoRecord, kind);
            if (!reader.HasRecord) continue;
            Assert.Equal(reader.HasExit, decoder.HasExit);
            Assert.Equal(builder.Build().ToArray(), record.ToArray());
            if (reader.HasSignal) signals++;
            else syscalls++;
        }
        Assert.Equal(ReadResult.End, reader.Read(builder));
        Assert.Equal((events.Count - 1, 1), (syscalls, signals));
    }

    [Fact]
    public void AnAbnormalEndBecomesASignalRecord()
    {
        var abend = Assemble(out _).Single(e => e.Records[0].Type == RecordTypes.AnomAbend);
        var decoder = new LiveEventDecoder();
        Assert.Equal(LiveEventKind.Signal, decoder.Decode(abend, out var bytes));
        var record = new Record(bytes);
        Assert.Equal(RecordLayout.EventTypeSignal, bytes[RecordLayout.Type]);
        Assert.Equal(11u, record.U32(RecordLayout.Sig));
        Assert.Equal(0u, record.Arch);
        Assert.Equal("sh", Encoding.UTF8.GetString(record.Comm));
        Assert.Equal(1u, Interpreter.Run(TestPrograms.CompileAndVerify("type == signal && sig == SIGSEGV && comm == \"sh\""), record));
    }

    /// <summary>Through the pipeline, a filter selects from the live events exactly what `filterc run` selects from their auditd text.</summary>
    [Theory]
    [InlineData("syscall == execve && success")]
    [InlineData("syscall == openat && exit == -ENOENT")]
    [InlineData("syscall == execve && !success && exit == -ENOENT")]
    [InlineData("type == signal")]
    public void ThePipelineSelectsWhatTheFileReaderSelects(string filter)
    {
        var events = Assemble(out _);
        var program = TestPrograms.CompileAndVerify(filter);
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("test", RecordFilters.Create(program, EngineKind.Interpreter), 1024);
        var context = pipeline.CreateContext();
        var decoder = new LiveEventDecoder(program.FieldsRead);
        var committedIds = new List<AuditdEventId>();
        foreach (var e in events)
            if (decoder.Decode(e, out var record) is LiveEventKind.Syscall or LiveEventKind.Signal && context.CommitRecord(record, 0) > 0)
                committedIds.Add(e.Id);
        pipeline.Complete();

        using var log = new MemoryStream();
        foreach (var e in events) e.WriteAuditd(log);
        log.Position = 0;
        using var reader = new AuditdReader(log, "capture");
        var builder = new RecordBuilder();
        var expected = new List<AuditdEventId>();
        while (reader.Read(builder) == ReadResult.Record)
            if (reader.HasRecord && Interpreter.Run(program, new Record(builder.Build())) != 0) expected.Add(reader.EventId);

        Assert.NotEmpty(expected);
        if (filter == "type == signal") Assert.Single(expected);
        Assert.Equal(expected, committedIds);
        Assert.Equal(committedIds.Count, sub.Stats.Delivered);
    }

    [Fact]
    public void MalformedRecordsAreCountedAndDropped()
    {
        var assembler = new EventAssembler(TimeSpan.FromSeconds(1));
        var done = new List<LiveEvent>();
        // A time past 9223372036854774.999 s has no timestamp in milliseconds: it used to end the live loop
        // with an OverflowException when its event was committed.
        foreach (var text in new[] { "audit(1.2:3) no colon", "audit(1.2): no serial", "hello", "audit(1.2000:3): ms", "",
                     "audit(9300000000000000.000:3): arch=c000003e syscall=59" })
            assembler.Add(RecordTypes.Syscall, Encoding.ASCII.GetBytes(text), 0, done);
        Assert.Equal(6, assembler.Malformed);
        Assert.Equal(0, assembler.OpenCount);
        assembler.Add(RecordTypes.Path, "audit(1.002:3): item=0\0\0"u8, 0, done);
        assembler.Flush(done);
        var e = Assert.Single(done);
        Assert.Equal(new AuditdEventId(1, 2, 3), e.Id);
        Assert.Equal("item=0", Encoding.ASCII.GetString(e.Records[0].Body));
    }

    [Fact]
    public void OpenEventsAreBounded()
    {
        var assembler = new EventAssembler(TimeSpan.FromSeconds(1), maxOpenEvents: 3);
        var done = new List<LiveEvent>();
        for (int i = 1; i <= 5; i++) assembler.Add(RecordTypes.AnomAbend, Encoding.ASCII.GetBytes($"audit(1.000:{i}): sig=11"), i, done);
        Assert.Equal(3, assembler.OpenCount);
        Assert.Equal([1UL, 2UL], done.Select(e => e.Id.Serial));
    }

    [Fact]
    public void HeldRecordTextIsBoundedAndWhatDoesNotFitIsCountedAsLost()
    {
        // The assembler held up to 4,096 events of any size: now at most MaxHeldBytes of record text.
        var assembler = new EventAssembler(TimeSpan.FromSeconds(1), maxHeldBytes: 100);
        var done = new List<LiveEvent>();
        byte[] Record(int serial, int size) => Encoding.ASCII.GetBytes($"audit(1.000:{serial}): {new string('x', size)}");
        assembler.Add(RecordTypes.Path, Record(1, 40), 1, done);
        assembler.Add(RecordTypes.Path, Record(2, 40), 2, done);
        Assert.Equal((2, 80L), (assembler.OpenCount, assembler.HeldBytes));
        // A third event does not fit beside them: the least recently fed one is complete, whole.
        assembler.Add(RecordTypes.Path, Record(3, 40), 3, done);
        Assert.Equal([1UL], done.Select(e => e.Id.Serial));
        Assert.Equal((2, 80L, 0L), (assembler.OpenCount, assembler.HeldBytes, assembler.Lost));
        // An event that alone would hold more than the bound keeps what it has; the record is lost, and counted.
        assembler.Add(RecordTypes.Path, Record(3, 70), 4, done);
        Assert.Equal([1UL, 2UL], done.Select(e => e.Id.Serial));
        Assert.Equal((1, 40L, 1L), (assembler.OpenCount, assembler.HeldBytes, assembler.Lost));
        assembler.Add(RecordTypes.Path, Record(4, 101), 5, done);
        Assert.Equal((0, 0L, 2L), (assembler.OpenCount, assembler.HeldBytes, assembler.Lost));
        assembler.Flush(done);
        Assert.Equal([1UL, 2UL, 3UL], done.Select(e => e.Id.Serial));
        Assert.Single(done[2].Records);
    }

    [Fact]
    public void TheRestOfADatagramAfterABadHeaderIsCountedAsLost()
    {
        // A datagram of two records whose second header claims more bytes than there are: the first record
        // is taken, the rest was dropped without a trace.
        byte[] first = Netlink.Build(RecordTypes.Path, 0, 0, "audit(1.000:1): item=0"u8);
        byte[] second = Netlink.Build(RecordTypes.Path, 0, 0, "audit(1.000:2): item=0"u8);
        MemoryMarshal.Write(second, (uint)4000);
        var assembler = new EventAssembler(TimeSpan.FromSeconds(1));
        var done = new List<LiveEvent>();
        assembler.AddDatagram([.. first, .. second], 0, done);
        assembler.AddDatagram(first, 0, done);
        Assert.Equal((1L, 1L, 2L), (assembler.BadDatagrams, assembler.Lost, assembler.Records));
    }

    [Fact]
    public void NetlinkFramingRejectsImpossibleLengths()
    {
        var message = Netlink.Build(1300, 0, 7, "abc"u8);
        Assert.Equal(20, message.Length);
        int offset = 0;
        Assert.True(Netlink.TryRead(message, ref offset, out var m));
        Assert.Equal((ushort)1300, m.Type);
        Assert.Equal(7u, m.Sequence);
        Assert.Equal(3, m.PayloadLength);
        MemoryMarshal.Write(message, (uint)4000);
        offset = 0;
        Assert.False(Netlink.TryRead(message, ref offset, out _));
        MemoryMarshal.Write(message, (uint)8);
        Assert.False(Netlink.TryRead(message, ref offset, out _));
    }

    [Fact]
    public void RuleDataHasTheKernelsLayout()
    {
        var data = new AuditRule(AuditArch.X86_64, [59, 257], "k1", [(AuditRule.FieldPpid, 42)]).Encode();
        uint Word(int i) => MemoryMarshal.Read<uint>(data.AsSpan(4 * i));
        Assert.Equal(1040 + 2, data.Length);
        Assert.Equal(AuditRule.FilterExit, Word(0));
        Assert.Equal(AuditRule.ActionAlways, Word(1));
        Assert.Equal(3u, Word(2));
        Assert.Equal(1u << (59 % 32), Word(3 + 1));
        Assert.Equal(1u << (257 % 32), Word(3 + 8));
        Assert.Equal(new uint[] { AuditRule.FieldArch, AuditRule.FieldPpid, AuditRule.FieldFilterKey }, new[] { Word(67), Word(68), Word(69) });
        Assert.Equal(new uint[] { AuditArch.X86_64, 42, 2 }, new[] { Word(131), Word(132), Word(133) });
        Assert.All(new[] { Word(195), Word(196), Word(197) }, f => Assert.Equal(AuditRule.OpEqual, f));
        Assert.Equal(2u, Word(259));
        Assert.Equal("k1"u8.ToArray(), data[1040..]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AuditRule(AuditArch.X86_64, [2048], "k").Encode());
    }

    /// <summary>
    /// The rule --install adds excludes the installing process: <c>-F pid!=PID</c> is field AUDIT_PID (0) with
    /// AUDIT_NOT_EQUAL (0x30000000) in fieldflags, between arch and the key, as auditctl encodes it.
    /// </summary>
    [Fact]
    public void AnInstalledRuleExcludesItsOwnProcess()
    {
        var rule = AuditRule.Excluding([4321], AuditArch.X86_64, [0, 45], "k");
        var data = rule.Encode();
        uint Word(int i) => MemoryMarshal.Read<uint>(data.AsSpan(4 * i));
        Assert.Equal(1040 + 1, data.Length);
        Assert.Equal(3u, Word(2));
        Assert.Equal((1u, 1u << 13), (Word(3), Word(3 + 1)));   // 0: bit 0 of word 0; 45 = 32 + 13: bit 13 of word 1
        Assert.Equal(new uint[] { AuditRule.FieldArch, AuditRule.FieldPid, AuditRule.FieldFilterKey }, new[] { Word(67), Word(68), Word(69) });
        Assert.Equal(new uint[] { AuditArch.X86_64, 4321, 1 }, new[] { Word(131), Word(132), Word(133) });
        Assert.Equal(new uint[] { 0x40000000, 0x30000000, 0x40000000 }, new[] { Word(195), Word(196), Word(197) });
        Assert.Equal(0u, Word(198));
        Assert.Equal("-a always,exit -F arch=b64 -S 0,45 -F pid!=4321 -F key=k", rule.ToAuditctl());
        Assert.Throws<ArgumentException>(() => new AuditRule(AuditArch.X86_64, [0], "k", [new AuditRuleField(0, 0x50000000, 1)]).Encode());
    }

    /// <summary><c>--install-field</c>: auditctl's <c>-F NAME=VALUE</c> / <c>NAME!=VALUE</c> for process fields, after the pid exclusions.</summary>
    [Fact]
    public void InstallFieldsParseAsAuditctlWritesThem()
    {
        Assert.True(AuditRuleField.TryParse("ppid=42", out var ppid, out _));
        Assert.Equal(AuditRuleField.Equal(AuditRule.FieldPpid, 42), ppid);
        Assert.True(AuditRuleField.TryParse("auid!=-1", out var auid, out _));
        Assert.Equal(AuditRuleField.NotEqual(9, uint.MaxValue), auid);
        Assert.True(AuditRuleField.TryParse("ses=7", out var ses, out _));
        var rule = AuditRule.Excluding([5], AuditArch.X86_64, [59], "k", [ppid, auid, ses]);
        Assert.Equal("-a always,exit -F arch=b64 -S 59 -F pid!=5 -F ppid=42 -F auid!=4294967295 -F ses=7 -F key=k", rule.ToAuditctl());
        foreach (var (bad, message) in new[] { ("ppid", "is not NAME=VALUE"), ("exe=/bin/ls", "NAME one of pid, ppid, uid, auid, ses"), ("pid=x", "'x' in 'pid=x' is not a decimal number or -1"), ("uid=-2", "not a decimal"), ("=1", "is not NAME=VALUE") })
        {
            Assert.False(AuditRuleField.TryParse(bad, out _, out string? error), bad);
            Assert.Contains(message, error);
        }
    }

    /// <summary>The rules tail and ids install: per host arch, own pid excluded, refused when unbounded.</summary>
    [SkippableFact]
    public void ExitRulesExcludeTheInstallerAndRefuseEverySyscall()
    {
        Skip.IfNot(ExitRules.HostArches().Any(), "not x86_64 or arm64: no arch to install rules for");
        var bound = Filter.Compiler.FilterCompiler.Compile("syscall in (read, recvfrom) && uid == 0").Bound!;
        var rules = ExitRules.For(Filter.Compiler.Analysis.SyscallAnalysis.For(bound), "k", [99, 98, 99], [AuditRuleField.Equal(AuditRule.FieldPpid, 7)], out var error);
        Assert.Null(error);
        Assert.NotNull(rules);
        Assert.Equal(ExitRules.HostArches().Count(), rules.Count);
        Assert.All(rules, r => Assert.Equal([AuditRuleField.NotEqual(AuditRule.FieldPid, 99), AuditRuleField.NotEqual(AuditRule.FieldPid, 98), AuditRuleField.Equal(AuditRule.FieldPpid, 7)], r.Fields));
        if (rules.FirstOrDefault(r => r.Arch == AuditArch.X86_64) is { } x64) Assert.Equal([0u, 45u], x64.Syscalls);
        Assert.Null(ExitRules.For(Filter.Compiler.Analysis.SyscallAnalysis.For(Filter.Compiler.FilterCompiler.Compile("uid == 0").Bound!), "k", [99], [], out error));
        Assert.StartsWith("can match any syscall", error);
    }

    [Fact]
    public void KernelLossesReachEverySubscriberAsAMarker()
    {
        var pipeline = new AuditPipeline();
        var sub = pipeline.Subscribe("all", RecordFilters.Create(TestPrograms.CompileAndVerify("true"), EngineKind.Interpreter), 4);
        var context = pipeline.CreateContext();
        var record = new RecordBuilder().ToArray();
        context.CommitRecord(record, 1);
        context.ReportUpstreamLoss(5);
        Assert.True(sub.TryRead(out var marker));
        Assert.Equal(AuditEventKind.RecordsLost, marker.Kind);
        Assert.Equal(5, marker.LostCount);
        Assert.Equal(5, marker.UpstreamLostCount);
        Assert.Equal((0UL, 0UL), (marker.FirstLostSerial, marker.LastLostSerial));
        Assert.True(sub.TryRead(out var first));
        Assert.Equal(AuditEventKind.Record, first.Kind);
        Assert.False(sub.TryRead(out _));
        var stats = sub.Stats;
        Assert.Equal(5, stats.UpstreamLost);
        Assert.Equal(0, stats.Lost);
        Assert.True(stats.Balanced);
    }

    [Fact]
    public void RecordTypeNamesAreAuditds()
    {
        Assert.Equal("SYSCALL", RecordTypes.NameOf(1300));
        Assert.Equal("ANOM_ABEND", RecordTypes.NameOf(1701));
        Assert.Equal("USER_LOGIN", RecordTypes.NameOf(1112));
        Assert.Equal("UNKNOWN[1099]", RecordTypes.NameOf(1099));
        Assert.True(RecordTypes.TryParse("EOE", out var eoe) && eoe == RecordTypes.Eoe);
    }
}
