using System.Text;
using Filter.Audit.Formats;
using Filter.Audit.Ids;
using Filter.Compiler.Tables;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Ids;

public class IdsPreFilterTests
{
    private static bool Passes(string? scope, byte[] record)
    {
        var compiled = IdsPreFilter.Compile(scope);
        var program = compiled.Program ?? throw new InvalidOperationException(DiagnosticRenderer.Render(DiagnosticsFormat.Text, compiled.Diagnostics));
        return RecordFilters.Create(program, EngineKind.Interpreter).Run(new Record(record)) != 0;
    }

    [Fact]
    public void EveryNameIsASyscallSomewhere()
    {
        foreach (var name in IdsPreFilter.SyscallNames) Assert.True(Syscalls.IsKnown(name), name);
        Assert.Contains("socketcall", IdsPreFilter.SyscallNames);
    }

    [Fact]
    public void KernelRulesCoverExactlyTheListedSyscallsPerArch()
    {
        // Spelled __NR_*: a bare `exit` beside syscall is the exit field, which made the set "any syscall".
        var sets = IdsPreFilter.KernelSyscalls();
        foreach (var (_, arch) in AuditArch.All)
        {
            var expected = IdsPreFilter.SyscallNames
                .Select(n => Syscalls.TryGetNumber(arch, n, out int nr) ? (ulong?)(uint)nr : null)
                .OfType<ulong>().Order().ToList();
            Assert.Equal(expected, sets.ForArch(arch).Numbers().Select(n => (ulong)n).ToList());
        }
        Assert.Empty(IdsPreFilter.Compile(null).Diagnostics);
    }

    [Fact]
    public void ReadIsAReceiveOnEveryArch()
    {
        foreach (var (_, arch) in AuditArch.All)
        {
            var kit = new IdsKit();
            kit.Feed(IdsKit.Syscall("accept4", 10, 1, exit: 4, arch: arch));
            kit.Feed(IdsKit.Syscall("clone", 10, 1, exit: 11, arch: arch));
            kit.Feed(IdsKit.Syscall("read", 11, 10, exit: 4, a0: 0, arch: arch));
            kit.Feed(IdsKit.Syscall("getpid", 11, 10, arch: arch));
            kit.Crash(11);
            Assert.Equal(1, Assert.Single(kit.Alerts).Distance);
        }
    }

    [Theory]
    [InlineData("read", true)]
    [InlineData("recvmsg", true)]
    [InlineData("execve", true)]
    [InlineData("exit_group", true)]
    [InlineData("openat", true)]
    [InlineData("getpid", false)]
    [InlineData("write", false)]
    public void PassesTheCallsTheStateMachineNeeds(string name, bool passes)
    {
        Assert.Equal(passes, Passes(null, IdsKit.Syscall(name, 5, 1)));
        Assert.True(Passes("true", IdsKit.Syscall(name, 5, 1)));
        Assert.Equal(passes || name == "getpid", Passes("syscall == getpid", IdsKit.Syscall(name, 5, 1)));
    }

    [Fact]
    public void PassesSigsegvOnly()
    {
        Assert.True(Passes(null, IdsKit.Signal(5, 11)));
        Assert.False(Passes(null, IdsKit.Signal(5, 6)));
        Assert.False(Passes("true", IdsKit.Signal(5, 14)));
    }

    [Fact]
    public void ABadScopeIsShownInItsOwnText()
    {
        var compiled = IdsPreFilter.Compile("auid == 4244 && exe startswith /tmp");
        Assert.Null(compiled.Program);
        Assert.StartsWith("scope:1:", compiled.Diagnostics[0].Render());
    }

    /// <summary>The IDS reads crash records through the auditd reader, with the one ANOM_ABEND decoder (AuditdSyscall).</summary>
    [Fact]
    public void AnomAbendBecomesASignalRecord()
    {
        var line = "node=h1 type=ANOM_ABEND msg=audit(1795746099.745:111075): auid=4244 uid=0 gid=0 ses=117 subj=unconfined pid=22224 comm=\"service\" exe=2F746D702F6120622F78 sig=11 res=1\u001dAUID=\"x\"";
        using var reader = new AuditdReader(new MemoryStream(Encoding.UTF8.GetBytes(line + "\n")), "log");
        var b = new RecordBuilder();
        Assert.Equal(ReadResult.Record, reader.Read(b));
        Assert.True(reader.HasSignal && reader.HasRecord && !reader.HasSyscall);
        var r = new Record(b.Build());
        Assert.Equal((1, 11u, 22224u, 4244u, 117u, 0u), (r.Bytes[RecordLayout.Type], r.U32(RecordLayout.Sig), r.U32(RecordLayout.Pid),
            r.U32(RecordLayout.Auid), r.U32(RecordLayout.Ses), r.Syscall));
        Assert.Equal("/tmp/a b/x", Encoding.UTF8.GetString(r.Exe));
        Assert.True(IdsPreFilter.Compile(null).Program is { } pre && Interpreter.Run(pre, r) != 0);

        using var bad = new AuditdReader(new MemoryStream("type=ANOM_ABEND msg=audit(1.2:3): pid=x sig=11\n"u8.ToArray()), "log");
        Assert.Equal(ReadResult.Error, bad.Read(b));
        Assert.Equal(InputErrors.Malformed("log", 1, "ANOM_ABEND field 'pid': expected a decimal number up to 4294967295, got x"), bad.Error);
    }
}
