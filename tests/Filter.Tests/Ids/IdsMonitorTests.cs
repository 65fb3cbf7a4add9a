using Filter.Audit.Ids;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Ids;

/// <summary>The IDS state machine on hand-made records (spec/ids.md).</summary>
public class IdsMonitorTests
{
    private const uint Server = 100, Service = 200;

    private static IdsKit Received(int window, int callsAfter)
    {
        var kit = new IdsKit(new IdsOptions { Window = window });
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 10, a0: 0, exe: "/srv/service");
        for (int i = 0; i < callsAfter; i++) kit.Call("close", Service, Server, a0: 9);
        kit.Crash(Service);
        return kit;
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(5, 5)]
    [InlineData(64, 64)]
    public void AlertsAtTheWindowBoundary(int window, int calls)
    {
        var alert = Assert.Single(Received(window, calls).Alerts);
        Assert.Equal((Service, Server, "/srv/service", "read", 0L, 10L, calls, window),
            (alert.Pid, alert.Ppid, alert.Exe, alert.ReceiveCall, alert.ReceiveFd, alert.Returned, alert.Distance, alert.Window));
        Assert.True(alert.Receive.Serial < alert.Crash.Serial);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(5, 6)]
    [InlineData(64, 65)]
    public void NoAlertOneCallPastTheWindow(int window, int calls) => Assert.Empty(Received(window, calls).Alerts);

    [Fact]
    public void ALaterReceiveRestartsTheWindow()
    {
        var kit = new IdsKit(new IdsOptions { Window = 2 });
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 1, a0: 0);
        for (int i = 0; i < 5; i++) kit.Call("close", Service, Server, a0: 9);
        kit.Call("recvfrom", Service, Server, exit: 7, a0: 1).Call("close", Service, Server, a0: 9).Crash(Service);
        var alert = Assert.Single(kit.Alerts);
        Assert.Equal(("recvfrom", 1L, 1), (alert.ReceiveCall, alert.ReceiveFd, alert.Distance));
    }

    [Fact]
    public void NoAlertWithoutReceiveOrOnNormalExitOrOtherSignals()
    {
        var kit = new IdsKit();
        kit.ServiceStarted(Server, Service).Crash(Service);                                   // crash without reading
        kit.ServiceStarted(Server, 201).Call("read", 201, Server, exit: 5, a0: 0).Call("exit_group", 201, Server).Crash(201);
        kit.ServiceStarted(Server, 202).Call("read", 202, Server, exit: 5, a0: 0).Crash(202, sig: 6);   // SIGABRT
        kit.ServiceStarted(Server, 203).Call("read", 203, Server, exit: 0, a0: 0).Crash(203);           // EOF: no data
        kit.ServiceStarted(Server, 204).Call("read", 204, Server, exit: -11, success: false, a0: 0).Crash(204);
        Assert.Empty(kit.Alerts);
    }

    [Fact]
    public void OnlySocketsAndPipesAreReceives()
    {
        var kit = new IdsKit();
        kit.ServiceStarted(Server, Service)
            .Call("openat", Service, Server, exit: 5, a0: unchecked((ulong)-100))   // a file
            .Call("read", Service, Server, exit: 100, a0: 5)
            .Call("dup2", Service, Server, exit: 0, a0: 5, a1: 0)                     // the file onto stdin
            .Call("read", Service, Server, exit: 100, a0: 0)
            .Crash(Service);
        Assert.Empty(kit.Alerts);

        kit.ServiceStarted(Server, 300)
            .Call("socket", 300, Server, exit: 7)
            .Call("dup", 300, Server, exit: 8, a0: 7)
            .Call("close", 300, Server, a0: 7)
            .Call("read", 300, Server, exit: 3, a0: 7)                                // closed: nothing
            .Call("read", 300, Server, exit: 3, a0: 8)                                // the dup'd socket
            .Crash(300);
        var alert = Assert.Single(kit.Alerts);
        Assert.Equal((300u, 8L, 0), (alert.Pid, alert.ReceiveFd, alert.Distance));
    }

    [Fact]
    public void OnlyServicesOfASuperServerAreWatched()
    {
        var kit = new IdsKit();
        // A process that never accepted: its child's crash after reading a socket is not about a super-server.
        kit.Call("socket", 10, 1, exit: 3).Call("fork", 10, 1, exit: 11)
           .Call("recvfrom", 11, 10, exit: 5, a0: 3).Crash(11);
        // The super-server itself crashing after a receive is not a service.
        kit.Call("accept", 20, 1, exit: 4).Call("read", 20, 1, exit: 5, a0: 4).Crash(20);
        Assert.Empty(kit.Alerts);
        // By name: an inetd forks (no accept seen) — its child is a service, with the connection on 0/1.
        kit.Call("fork", 30, 1, exit: 31, exe: "/usr/sbin/inetd").Call("read", 31, 30, exit: 5, a0: 0).Crash(31);
        Assert.Equal(31u, Assert.Single(kit.Alerts).Pid);
    }

    [Fact]
    public void AcceptThenForkCanBeTurnedOff()
    {
        var kit = new IdsKit(new IdsOptions { AcceptThenFork = false });
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 5, a0: 0).Crash(Service);
        Assert.Empty(kit.Alerts);
    }

    [Fact]
    public void InterleavedServicesAndChildRecordsBeforeTheForkRecord()
    {
        var kit = new IdsKit(new IdsOptions { Window = 3 });
        kit.Call("accept", Server, 1, exit: 4);
        // The children run before the parent's clone returns: their records come first (adopted by ppid).
        kit.Call("read", 201, Server, exit: 9, a0: 0).Call("read", 202, Server, exit: 9, a0: 0);
        kit.Call("clone", Server, 1, exit: 201, a0: 0x01200011).Call("clone", Server, 1, exit: 202, a0: 0x01200011);
        kit.Call("getpid", 201, Server).Call("getpid", 202, Server).Call("getpid", 202, Server);
        kit.Call("getpid", 201, Server).Call("getpid", 202, Server).Call("getpid", 202, Server);   // 202 now at 4 > 3
        kit.Crash(202).Crash(201);
        var alert = Assert.Single(kit.Alerts);
        Assert.Equal((201u, 2), (alert.Pid, alert.Distance));   // the fork record (not a call of 201) is not counted
    }

    [Fact]
    public void ThreadsAreNotProcesses()
    {
        var kit = new IdsKit();
        kit.ServiceStarted(Server, Service);
        kit.Call("clone", Service, Server, exit: 250, a0: 0x003d0f00);   // CLONE_THREAD|...: pthread_create
        kit.Call("clone3", Service, Server, exit: 251);                  // flags unknown: not tracked until it has records
        Assert.Equal(2, kit.Monitor.Stats.Tracked);
        kit.Call("read", Service, Server, exit: 5, a0: 0).Call("exit", Service, Server).Crash(Service);   // a thread's exit(2)
        Assert.Equal(1, Assert.Single(kit.Alerts).Distance);
    }

    [Fact]
    public void AReusedPidIsANewProcess()
    {
        var kit = new IdsKit();
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 5, a0: 0);
        // Service is killed unseen (SIGKILL writes no record); an unrelated process gets its pid and crashes.
        kit.Call("getpid", Service, 77).Crash(Service);
        Assert.Empty(kit.Alerts);
        Assert.Equal(1, kit.Monitor.Stats.PidReuses);

        // The same, but the new process is again a child of the super-server: the second fork record says so.
        kit.ServiceStarted(Server, 210).Call("read", 210, Server, exit: 5, a0: 0);
        kit.Call("clone", Server, 1, exit: 210, a0: 0x01200011).Call("fcntl", 210, Server, exit: 9, a0: 3, a1: 1030).Crash(210);
        Assert.Empty(kit.Alerts);

        // Re-parented to init after the super-server died: the same process, still watched.
        kit.ServiceStarted(Server, 220).Call("read", 220, Server, exit: 5, a0: 0).Call("getpid", 220, 1).Crash(220);
        Assert.Equal((220u, 1), (Assert.Single(kit.Alerts).Pid, kit.Alerts[0].Distance));
    }

    [Fact]
    public void MemoryIsBoundedUnderAFloodOfProcesses()
    {
        var kit = new IdsKit(new IdsOptions { MaxProcesses = 64 });
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 5, a0: 0);
        for (uint pid = 1000; pid < 21000; pid++) kit.Call("accept", pid, 1, exit: 3);
        var s = kit.Monitor.Stats;
        Assert.Equal((64, 64), (s.Tracked, s.MaxTracked));
        Assert.Equal(20000 + 2 - 64, s.Evicted);
        kit.Crash(Service);   // evicted long ago: forgotten, no alert (a stated limit)
        Assert.Empty(kit.Alerts);
        // The most recent ones are still tracked.
        kit.Call("fork", 20999, 1, exit: 30000).Call("read", 30000, 20999, exit: 1, a0: 3).Crash(30000);
        Assert.Single(kit.Alerts);
    }

    [Fact]
    public void IdleProcessesExpire()
    {
        var kit = new IdsKit(new IdsOptions { IdleTimeoutMs = 1000 });
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 5, a0: 0);
        kit.Now += 2000;
        kit.Call("accept", 999, 1, exit: 3);   // any record moves time on
        Assert.Equal(2, kit.Monitor.Stats.Expired);
        kit.Crash(Service);
        Assert.Empty(kit.Alerts);
    }

    [Fact]
    public void LossesAreReportedInTheAlert()
    {
        var kit = new IdsKit();
        kit.Monitor.RecordsLost(3);
        kit.ServiceStarted(Server, Service).Call("read", Service, Server, exit: 5, a0: 0);
        kit.Monitor.RecordsLost(2);
        kit.Crash(Service);
        Assert.Equal(2, Assert.Single(kit.Alerts).RecordsLostBetween);
        Assert.Equal(5, kit.Monitor.Stats.Lost);
    }

    [Fact]
    public void I386SocketcallAndCloseRange()
    {
        var kit = new IdsKit();
        kit.Feed(IdsKit.Syscall("socketcall", Server, 1, exit: 4, a0: 5, arch: AuditArch.I386));   // SYS_ACCEPT
        kit.Feed(IdsKit.Syscall("fork", Server, 1, exit: Service, arch: AuditArch.I386));
        kit.Feed(IdsKit.Syscall("close_range", Service, Server, a0: 0, a1: 2, arch: AuditArch.I386));   // closes 0..2
        kit.Feed(IdsKit.Syscall("read", Service, Server, exit: 5, a0: 0, arch: AuditArch.I386));         // not a channel any more
        kit.Feed(IdsKit.Syscall("read", Service, Server, exit: 5, a0: 4, arch: AuditArch.I386));         // the inherited connection
        kit.Feed(IdsKit.Syscall("socketcall", Service, Server, exit: 5, a0: 12, arch: AuditArch.I386));  // SYS_RECVFROM
        kit.Crash(Service);
        var alert = Assert.Single(kit.Alerts);
        Assert.Equal(("socketcall(recvfrom)", -1L, 0), (alert.ReceiveCall, alert.ReceiveFd, alert.Distance));
    }

    [Fact]
    public void AlertFormats()
    {
        var alert = Assert.Single(Received(4, 2).Alerts);
        Assert.Equal("ALERT pid=200 ppid=100 exe=\"/srv/service\" sig=SIGSEGV n=2 window=4 receive=read fd=0 ret=10 receive_event=#7 crash_event=#10", alert.ToText());
        using var json = System.Text.Json.JsonDocument.Parse(alert.ToJson());
        Assert.Equal(200, json.RootElement.GetProperty("pid").GetInt32());
        Assert.Equal("read", json.RootElement.GetProperty("receive").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("n").GetInt32());
    }

    [Fact]
    public void OptionsAreValidated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdsMonitor(new IdsOptions { Window = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdsMonitor(new IdsOptions { MaxProcesses = 1 }));
    }
}
