using Filter.Audit.Ids;
using Filter.Compiler.Tables;
using Filter.VM;

namespace Filter.Tests.Ids;

/// <summary>Builds the records an IDS sees and feeds them, with serials and timestamps, to a monitor.</summary>
internal sealed class IdsKit(IdsOptions? options = null)
{
    public readonly IdsMonitor Monitor = new(options);
    public readonly List<IdsAlert> Alerts = [];
    private ulong _serial;
    public long Now = 1_000_000;

    public static byte[] Syscall(string name, uint pid, uint ppid, long exit = 0, bool success = true,
        ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, string exe = "/usr/bin/x", uint arch = AuditArch.X86_64)
    {
        if (!Syscalls.TryGetNumber(arch, name, out int nr)) throw new ArgumentException($"no syscall {name} on {AuditArch.NameOf(arch)}");
        var b = new RecordBuilder();
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Syscall, (uint)nr);
        b.SetU32(RecordLayout.Pid, pid);
        b.SetU32(RecordLayout.Ppid, ppid);
        b.SetExit(exit);
        b.SetSuccess(success);
        b.SetU64(RecordLayout.A0, a0);
        b.SetU64(RecordLayout.A1, a1);
        b.SetU64(RecordLayout.A2, a2);
        b.SetExe(exe);
        return b.ToArray();
    }

    public static byte[] Signal(uint pid, uint sig = 11, string exe = "")
    {
        var b = new RecordBuilder();
        b.SetU32(RecordLayout.Pid, pid);
        b.SetScalar(RecordLayout.ScalarNamed("type")!, RecordLayout.EventTypeSignal);
        b.SetU32(RecordLayout.Sig, sig);
        b.SetExe(exe);
        return b.ToArray();
    }

    public IdsAlert? Feed(byte[] record)
    {
        Now += 1;
        var alert = Monitor.Observe(new Record(record), new IdsRecordRef(++_serial, Now, null));
        if (alert is not null) Alerts.Add(alert);
        return alert;
    }

    public IdsKit Call(string name, uint pid, uint ppid, long exit = 0, bool success = true, ulong a0 = 0, ulong a1 = 0, ulong a2 = 0, string exe = "/usr/bin/x")
    {
        Feed(Syscall(name, pid, ppid, exit, success, a0, a1, a2, exe));
        return this;
    }

    public IdsKit Crash(uint pid, uint sig = 11)
    {
        Feed(Signal(pid, sig));
        return this;
    }

    /// <summary>
    /// An inetd-style start: <paramref name="server"/> (child of 1) accepts fd 4, forks <paramref name="service"/>,
    /// which puts the connection on 0 and 1 and execs /srv/service.
    /// </summary>
    public IdsKit ServiceStarted(uint server, uint service)
    {
        Call("accept4", server, 1, exit: 4, a0: 3, exe: "/usr/sbin/superd");
        Call("clone", server, 1, exit: service, a0: 0x01200011, exe: "/usr/sbin/superd");
        Call("dup2", service, server, exit: 0, a0: 4, a1: 0);
        Call("dup2", service, server, exit: 1, a0: 4, a1: 1);
        Call("close", service, server, a0: 4);
        Call("execve", service, server, exe: "/srv/service");
        return this;
    }
}
