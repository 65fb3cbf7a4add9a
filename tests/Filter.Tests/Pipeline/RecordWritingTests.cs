using Xunit;
using Filter.Audit.Pipeline;
using Filter.VM;
using static Filter.Tests.Pipeline.PipelineTestKit;

namespace Filter.Tests.Pipeline;

/// <summary>
/// AuditContext writes its record in place, field by field, without clearing it between records. Whatever
/// sequence of syscalls (with or without arguments, strings of any length), signals and replays a context
/// goes through, every committed record must be byte for byte what a fresh <see cref="RecordBuilder"/>
/// builds from the same values: nothing of an earlier record may survive.
/// </summary>
public class RecordWritingTests
{
    [Fact]
    public void EveryRecordIsWhatTheBuilderBuilds()
    {
        // The identity (pid, ids, comm, exe) is the context's task: set with SetTask or SetCredentials (also
        // while a record is open: it is read at close, as the kernel reads it at exit), or passed to an
        // overload of Open or Signal that sets it. The subscriber's filter is swapped now and then between
        // "true" and one that cannot match the next syscall, also between a record's open and close, so that
        // records dropped at open (no filter run, no arguments written) come between the checked ones.
        var random = new Random(6);
        var p = new AuditPipeline();
        var keepAll = Make("true");
        var all = p.Subscribe("all", keepAll, capacity: 4);
        var ctx = p.CreateContext();
        var expected = new RecordBuilder();
        uint pid = 0;
        AuditCredentials creds = default;
        byte[] comm = [], exe = [];
        bool hasTask = false;
        for (int n = 0; n < 6000; n++)
        {
            uint arch = random.Next(2) == 0 ? AuditArch.X86_64 : AuditArch.Aarch64;
            int kind = random.Next(6);
            if (kind == 1)
            {
                // A replayed record is committed as given and leaves the context's own record alone.
                var replayed = new RecordBuilder();
                SetCommon(replayed, arch, NewPid(), NewCreds(), Text(5), Text(9));
                replayed.SetU64(RecordLayout.A2, Next64());
                byte[] bytes = replayed.ToArray();
                ctx.CommitRecord(bytes, n);
                Assert.True(all.TryRead(out var r));
                Assert.True(r.Bytes.Span.SequenceEqual(bytes), $"replayed record {n} changed");
                continue;
            }
            bool explicitIdentity = !hasTask || random.Next(3) == 0;
            if (explicitIdentity) NewIdentity();
            else if (random.Next(8) == 0) ctx.SetCredentials(creds = NewCreds());
            hasTask = true;
            bool delivered = true;
            expected.Clear();
            if (kind == 0)
            {
                uint sig = (uint)random.Next(1, 32);
                expected.SetScalar(RecordLayout.ScalarNamed("type")!, RecordLayout.EventTypeSignal);
                expected.SetU32(RecordLayout.Sig, sig);
                if (explicitIdentity) ctx.Signal(pid, sig, creds, n, arch, comm, exe);
                else ctx.Signal(sig, n, arch);
            }
            else
            {
                uint nr = (uint)random.Next(0, 500);
                long exit = random.Next(-40, 4096);
                bool instrumented = random.Next(3) != 0;
                // Some records are opened under a filter that cannot match them: dropped at open...
                bool droppedAtOpen = random.Next(4) == 0;
                p.SetFilter(all, droppedAtOpen ? Make($"syscall != {nr}") : keepAll);
                expected.SetU32(RecordLayout.Syscall, nr);
                expected.SetExit(exit);
                expected.SetSuccess(exit >= 0);
                Assert.True(explicitIdentity ? ctx.Open(arch, nr, pid, creds, comm, exe) : ctx.Open(arch, nr));
                if (instrumented)
                {
                    ulong[] a = [Next64(), Next64(), Next64(), Next64(), Next64(), Next64()];
                    for (int i = 0; i < 6; i++) expected.SetU64(RecordLayout.A0 + 8 * i, a[i]);
                    ctx.SubmitArguments(a[0], a[1], a[2], a[3], a[4], a[5]);
                }
                if (random.Next(6) == 0)
                {
                    NewIdentity();   // an execve or setuid: the record shows the task as it is at close
                    ctx.SetTask(pid, creds, comm, exe);
                }
                // ...whatever the filter is by close; the others are decided by the filter of their close.
                bool droppedAtClose = droppedAtOpen;
                if (random.Next(3) == 0) p.SetFilter(all, (droppedAtClose = !droppedAtClose) ? Make($"syscall != {nr}") : keepAll);
                delivered = !droppedAtOpen && !droppedAtClose;
                Assert.Equal(delivered ? 1 : 0, ctx.Close(exit, exit >= 0, n));
            }
            if (!delivered)
            {
                Assert.False(all.TryRead(out _));
                continue;
            }
            SetCommon(expected, arch, pid, creds, comm, exe);
            Assert.True(all.TryRead(out var e));
            Assert.Equal(AuditEventKind.Record, e.Kind);
            Assert.True(expected.Build().SequenceEqual(e.Bytes.Span), $"record {n} differs from the builder's");
        }
        AssertBalanced(all);

        void NewIdentity()
        {
            (pid, creds, comm, exe) = (NewPid(), NewCreds(), Text(random.Next(4) == 0 ? 0 : random.Next(0, 20)), Text(random.Next(4) == 0 ? 0 : random.Next(0, 80)));
        }
        uint NewPid() => (uint)random.Next(1, 1 << 22);
        AuditCredentials NewCreds() => new(Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next());
        uint Next() => random.Next(3) == 0 ? uint.MaxValue : (uint)random.Next();
        ulong Next64() => (ulong)random.NextInt64() << random.Next(0, 2);
        byte[] Text(int length) => Enumerable.Range(0, length).Select(_ => (byte)random.Next('a', 'z' + 1)).ToArray();
    }

    private static void SetCommon(RecordBuilder b, uint arch, uint pid, in AuditCredentials c, byte[] comm, byte[] exe)
    {
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Pid, pid);
        b.SetU32(RecordLayout.Ppid, c.Ppid);
        b.SetU32(RecordLayout.Auid, c.Auid);
        b.SetU32(RecordLayout.Uid, c.Uid);
        b.SetU32(RecordLayout.Gid, c.Gid);
        b.SetU32(RecordLayout.Euid, c.Euid);
        b.SetU32(RecordLayout.Suid, c.Suid);
        b.SetU32(RecordLayout.Fsuid, c.Fsuid);
        b.SetU32(RecordLayout.Egid, c.Egid);
        b.SetU32(RecordLayout.Sgid, c.Sgid);
        b.SetU32(RecordLayout.Fsgid, c.Fsgid);
        b.SetU32(RecordLayout.Ses, c.Ses);
        if (comm.Length > 0) b.SetComm(comm);
        if (exe.Length > 0) b.SetExe(exe);
    }
}
