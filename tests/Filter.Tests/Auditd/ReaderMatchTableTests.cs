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
    public static TheoryData<string> Filters() =>
    [
        "syscall == execve",
        "syscall == openat && exe startswith \"/usr/\" && success == false",
        "syscall in (connect, bind) && exit != 0",
        "perm == w && path0 startswith \"/tmp/\"",
        "(arch == i386 && syscall == 11) || (arch == x86_64 && syscall == 59 && uid != 0)",
        "syscall != getpid && cwd startswith \"/\"",
        "uid == 0",
        "type == signal || syscall == kill",
        "true",
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
