using System.Text;
using Filter.Audit.Formats;
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
}
