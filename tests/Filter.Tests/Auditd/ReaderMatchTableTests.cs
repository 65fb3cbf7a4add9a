using Filter.Audit.Formats;
using Filter.Verifier;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Auditd;

/// <summary>
/// The reader's shortcut for records the filter cannot match (<see cref="AuditdReader.Matches"/>): on every
/// oracle log, the same events, lines and verdicts as a reader that decodes everything the filter reads.
/// </summary>
public class ReaderMatchTableTests
{
    // Every field but type and sig, on openat: more fields than SyscallMatchTable.FieldsRead's mask holds.
    private static string EveryField() => "syscall == openat && (" + string.Join(" || ",
        RecordLayout.Scalars.Where(f => f.Name is not ("type" or "sig")).Select(f => f.IsBoolean ? f.Name : $"{f.Name} != 1")
            .Concat(RecordLayout.Strings.Select(f => $"{f.Name} startswith \"/\""))) + ")";

    public static TheoryData<string> Filters() =>
    [
        EveryField(),
        "syscall == execve",
        "syscall == openat && exe startswith \"/usr/\" && success == false",
        "syscall in (connect, bind) && exit != 0",
        "perm == w && path0 startswith \"/tmp/\"",
        "(arch == i386 && syscall == 11) || (arch == x86_64 && syscall == 59 && uid != 0)",
        "syscall != getpid && cwd startswith \"/\"",
        "uid == 0",
        "type == signal || syscall == kill",
        "true",
        // Fields read for some syscalls only: each record is decoded for its own.
        "(syscall == execve && euid == 0 && exe == \"/usr/bin/su\") || (syscall == openat && auid >= 1000 && path0 startswith \"/etc/\") || (perm == w && uid == 0 && inode1 != 0)",
        "(syscall == close && a0 == 3) || (syscall == openat && cwd == \"/\") || (syscall == execve && argv contains \"-c\")",
    ];

    [Theory]
    [MemberData(nameof(Filters))]
    public void TheShortcutChangesNoVerdict(string filter)
    {
        var program = TestPrograms.CompileAndVerify(filter);
        var logs = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Data", "oracle", "logs"), "*.log").Order().ToList();
        Assert.NotEmpty(logs);
        long skipped = 0, matched = 0;
        foreach (var log in logs)
        {
            var full = Verdicts(program, log, null, ref skipped);
            var quick = Verdicts(program, log, SyscallMatchTable.Of(program), ref skipped);
            Assert.Equal(full, quick);
            matched += full.Count(v => v.Verdict != 0);
        }
        // The shortcut was taken wherever the table rules a syscall out (every filter here but `true` and `uid == 0`).
        if (SyscallMatchTable.Of(program).MayMatch(AuditArch.X86_64, 39)) Assert.Equal(0, skipped);
        else Assert.True(skipped > 0);
        Assert.True(matched > 0 || filter.Contains("i386"), $"{filter}: matched nothing, the test would prove little");
    }

    // An event whose SYSCALL record's euid and PATH record's inode do not decode, as one of three syscalls.
    private static string Log(int syscall) => $"""
        type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall={syscall} success=yes exit=3 a0=ffffff9c a1=7ffd a2=0 a3=0 items=1 ppid=1 pid=2 auid=4242 uid=0 gid=0 euid=zz suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm="cat" exe="/usr/bin/cat" key=(null)
        type=PATH msg=audit(1700000000.000:1): item=0 name="/etc/passwd" inode=zz dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
        type=PROCTITLE msg=audit(1700000000.000:1): proctitle=636174

        """;

    [Theory]
    [InlineData(257, null, null)]
    [InlineData(59, "euid", null)]
    [InlineData(87, null, "inode")]
    public void ARecordIsDecodedForTheFieldsItsSyscallsRulesRead(int syscall, string? badSyscallField, string? badPathField)
    {
        var program = TestPrograms.CompileAndVerify("(syscall == execve && euid == 0) || (syscall == openat && auid == 4242) || (syscall == unlink && inode0 == 5)");
        string? Read(SyscallMatchTable? table)
        {
            using var reader = new AuditdReader([AuditdSource.Stream(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(Log(syscall))), "log")])
                { Fields = program.FieldsRead, Matches = table };
            var result = reader.Read();
            if (result == ReadResult.Error) return reader.Error!.Message;
            Assert.Equal(ReadResult.Record, result);
            Assert.Equal(syscall == 257 ? 1u : 0u, Interpreter.Run(program, new Record(reader.Record)));
            return null;
        }
        string? error = Read(SyscallMatchTable.Of(program));
        if (badSyscallField is null && badPathField is null) Assert.Null(error);
        else Assert.Contains($"'{badSyscallField ?? badPathField}'", error);
        // Decoded for the whole filter, the bad euid is read in every event.
        Assert.Contains("'euid'", Read(null));
    }

    [Fact]
    public void AFilterReadingMoreFieldsThanAMaskHoldsHasThemAllDecoded()
    {
        // uid comes late in the fields' order, past the 64 a mask holds: it must still be decoded (and checked).
        var program = TestPrograms.CompileAndVerify(EveryField());
        string log = Log(257).Replace("euid=zz", "euid=0").Replace("inode=zz", "inode=5").Replace(" uid=0 ", " uid=zz ");
        using var reader = new AuditdReader([AuditdSource.Stream(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(log)), "log")])
            { Fields = program.FieldsRead, Matches = SyscallMatchTable.Of(program) };
        Assert.Equal(ReadResult.Error, reader.Read());
        Assert.Contains("'uid'", reader.Error!.Message);
    }

    private static List<(AuditdEventId Id, int Lines, long FirstLine, uint Verdict)> Verdicts(VerifiedProgram program, string log, SyscallMatchTable? table, ref long skipped)
    {
        var verdicts = new List<(AuditdEventId, int, long, uint)>();
        using var reader = new AuditdReader([AuditdSource.File(log)]) { Fields = program.FieldsRead, Matches = table };
        ReadResult result;
        while ((result = reader.Read()) == ReadResult.Record)
        {
            uint verdict = !reader.HasRecord ? (program.ReadsRecord ? 0 : Interpreter.Run(program, new Record(new RecordBuilder().Build())))
                : reader.CannotMatch ? 0 : Interpreter.Run(program, new Record(reader.Record));
            if (reader.HasRecord && reader.CannotMatch) skipped++;
            verdicts.Add((reader.EventId, reader.LineCount, reader.FirstLineNumber, verdict));
        }
        Assert.Equal(ReadResult.End, result);
        return verdicts;
    }
}
