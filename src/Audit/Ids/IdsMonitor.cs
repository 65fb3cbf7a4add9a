using System.Text;
using Filter.VM;

namespace Filter.Audit.Ids;

/// <summary>What the state machine did so far (spec/ids.md).</summary>
public readonly record struct IdsStats(
    long Records, long Receives, long Alerts, int Tracked, int MaxTracked,
    long Evicted, long Expired, long PidReuses, long Lost);

/// <summary>
/// The IDS state machine (spec/ids.md): watches for a process started by a network super-server that
/// receives data from a socket or pipe and dies of SIGSEGV within N system calls of receiving it. Feed it
/// the records the pre-filter (<see cref="IdsPreFilter"/>) passes, in commit order, with
/// <see cref="Observe"/>, and the pipeline's loss markers with <see cref="RecordsLost"/>. Memory is bounded:
/// at most <see cref="IdsOptions.MaxProcesses"/> processes, each with a fixed-size state (its exe path and
/// at most 64 + <see cref="ChannelFds.MaxHighFds"/> fds). Not thread-safe: one consumer.
/// </summary>
public sealed class IdsMonitor
{
    [Flags]
    private enum Role : byte
    {
        /// <summary>Runs a super-server executable (<see cref="IdsOptions.ServerNames"/>).</summary>
        Server = 1,
        /// <summary>Accepted a connection (<see cref="IdsOptions.AcceptThenFork"/>): its children are services.</summary>
        Acceptor = 2,
        /// <summary>Started by a super-server (or by a process that was): the processes alerts are about.</summary>
        Served = 4,
    }

    /// <summary>One tracked process, and its place in the recency list (most recent at the head).</summary>
    private sealed class Proc(uint pid, uint ppid, Role role, string exe, ChannelFds fds)
    {
        public readonly uint Pid = pid;
        public uint Ppid = ppid;
        public Role Role = role;
        public string Exe = exe;
        public readonly ChannelFds Fds = fds;
        /// <summary>The parent's fork record was seen (a second one for this pid means the pid was reused).</summary>
        public bool ForkSeen;
        public long LastSeen;
        public Proc? Newer, Older;

        // The window opened by the last receive.
        public bool Armed;
        public int Distance;
        public string ReceiveCall = "";
        public long ReceiveFd, Returned, LostAtReceive;
        public IdsRecordRef Receive;
    }

    private readonly IdsOptions _options;
    private readonly byte[][] _serverNames;
    private readonly Dictionary<uint, Proc> _procs = [];
    private Proc? _newest, _oldest;
    private long _records, _receives, _alerts, _evicted, _expired, _pidReuses, _lost;
    private int _maxTracked;

    public IdsMonitor(IdsOptions? options = null)
    {
        _options = options ?? new IdsOptions();
        _options.Validate();
        _serverNames = [.. _options.ServerNames.Select(Encoding.UTF8.GetBytes)];
    }

    public IdsOptions Options => _options;

    public IdsStats Stats => new(_records, _receives, _alerts, _procs.Count, _maxTracked, _evicted, _expired, _pidReuses, _lost);

    /// <summary>
    /// The pipeline announced that <paramref name="count"/> records were lost: any of them may have been a
    /// receive, a crash or a call in between. Alerts raised later say how many were lost since their receive.
    /// </summary>
    public void RecordsLost(long count) => _lost += count;

    /// <summary>Updates the state with one record; returns the alert it completes, if any.</summary>
    public IdsAlert? Observe(Record record, IdsRecordRef at)
    {
        _records++;
        ExpireIdle(at.Timestamp);
        uint pid = record.U32(RecordLayout.Pid);
        if (record.Bytes[RecordLayout.Type] == RecordLayout.EventTypeSignal)
            return record.U32(RecordLayout.Sig) == SigSegv ? Crash(pid, record, at) : null;

        uint arch = record.Arch, nr = record.Syscall;
        var kind = IdsSyscalls.Classify(arch, nr);
        var p = Find(pid, record.U32(RecordLayout.Ppid)) ?? Start(pid, record, kind);
        if (p is null) return null;
        Touch(p, at.Timestamp);
        if (p.Armed && ++p.Distance > _options.Window) p.Armed = false;

        bool ok = record.Success;
        long ret = record.Exit;
        ulong a0 = record.U64(RecordLayout.A0), a1 = record.U64(RecordLayout.A1);
        switch (kind)
        {
            case CallKind.Read:
                if (ok && ret > 0 && p.Fds.Contains(Fd(a0))) Arm(p, IdsSyscalls.NameOf(arch, nr), Fd(a0), ret, at);
                break;
            case CallKind.Recv:
                if (ok && ret > 0) Arm(p, IdsSyscalls.NameOf(arch, nr), Fd(a0), ret, at);
                break;
            case CallKind.Fork:
                if (ok && ret > 0) Forked(p, (uint)ret, at.Timestamp);
                break;
            case CallKind.Clone:
                if (ok && ret > 0 && (a0 & IdsSyscalls.CloneThread) == 0) Forked(p, (uint)ret, at.Timestamp);
                break;
            case CallKind.Exec:
                if (ok)
                {
                    var exe = record.Exe;
                    p.Exe = Encoding.UTF8.GetString(exe);
                    if (IsServerExe(exe)) p.Role |= Role.Server;
                }
                break;
            case CallKind.ExitGroup:
                Remove(p);
                break;
            case CallKind.Accept:
                if (ok && ret >= 0) Accepted(p, ret);
                break;
            case CallKind.Socket:
                if (ok && ret >= 0) p.Fds.Set(ret, true);
                break;
            case CallKind.NewOtherFd:
                if (ok && ret >= 0) p.Fds.Set(ret, false);
                break;
            case CallKind.Dup:
            case CallKind.Dup2:
                if (ok && ret >= 0) p.Fds.Set(ret, p.Fds.Contains(Fd(a0)));
                break;
            case CallKind.Fcntl:
                if (ok && ret >= 0 && a1 is IdsSyscalls.FDupfd or IdsSyscalls.FDupfdCloexec) p.Fds.Set(ret, p.Fds.Contains(Fd(a0)));
                break;
            case CallKind.Close:
                // Linux releases the fd even when close fails (EINTR, EIO); EBADF means it was not open.
                p.Fds.Set(Fd(a0), false);
                break;
            case CallKind.CloseRange:
                if (ok && (record.U64(RecordLayout.A2) & IdsSyscalls.CloseRangeCloexec) == 0) p.Fds.RemoveRange(a0, a1);
                break;
            case CallKind.SocketCall:
                switch (a0)
                {
                    case IdsSyscalls.SysSocket when ok && ret >= 0: p.Fds.Set(ret, true); break;
                    case IdsSyscalls.SysAccept or IdsSyscalls.SysAccept4 when ok && ret >= 0: Accepted(p, ret); break;
                    case IdsSyscalls.SysRecv or IdsSyscalls.SysRecvfrom or IdsSyscalls.SysRecvmsg or IdsSyscalls.SysRecvmmsg when ok && ret > 0:
                        Arm(p, IdsSyscalls.SocketCallName(a0), -1, ret, at);
                        break;
                }
                break;
        }
        return null;
    }

    private const uint SigSegv = 11;

    /// <summary>The fd in a 64-bit argument register (an int in the kernel: the low 32 bits, sign-extended).</summary>
    private static long Fd(ulong register) => (int)(uint)register;

    private void Arm(Proc p, string call, long fd, long returned, IdsRecordRef at)
    {
        if ((p.Role & Role.Served) == 0) return;
        _receives++;
        p.Armed = true;
        p.Distance = 0;
        p.ReceiveCall = call;
        p.ReceiveFd = fd;
        p.Returned = returned;
        p.Receive = at;
        p.LostAtReceive = _lost;
    }

    private void Accepted(Proc p, long fd)
    {
        p.Fds.Set(fd, true);
        if (_options.AcceptThenFork) p.Role |= Role.Acceptor;
    }

    private IdsAlert? Crash(uint pid, Record record, IdsRecordRef at)
    {
        if (!_procs.TryGetValue(pid, out var p)) return null;
        Remove(p);   // the process is dead either way
        if ((p.Role & Role.Served) == 0 || !p.Armed) return null;
        _alerts++;
        var exe = record.Exe;
        return new IdsAlert(p.Pid, p.Ppid, exe.IsEmpty ? p.Exe : Encoding.UTF8.GetString(exe), p.ReceiveCall, p.ReceiveFd,
            p.Returned, p.Receive, at, p.Distance, _options.Window, _lost - p.LostAtReceive);
    }

    // ---------------------------------------------------------------- which processes are tracked

    /// <summary>
    /// The tracked process <paramref name="pid"/>. A different parent means the pid now belongs to another
    /// process (the old one ended unseen): its entry is dropped. Parent 1 is the exception — a process whose
    /// parent died is re-parented to init and is still the same process.
    /// </summary>
    private Proc? Find(uint pid, uint ppid)
    {
        if (!_procs.TryGetValue(pid, out var p)) return null;
        if (p.Ppid == ppid) return p;
        if (ppid == 1)
        {
            p.Ppid = ppid;
            return p;
        }
        _pidReuses++;
        Remove(p);
        return null;
    }

    /// <summary>
    /// An entry for an untracked process, when it is one the IDS follows: a child of a tracked process
    /// (adopted by its record's ppid: the child's records may come before the parent's fork record), a
    /// process that accepts a connection, or one running a super-server executable. Else null.
    /// </summary>
    private Proc? Start(uint pid, Record record, CallKind kind)
    {
        uint ppid = record.U32(RecordLayout.Ppid);
        if (_procs.TryGetValue(ppid, out var parent)) return NewChild(parent, pid);
        var exe = record.Exe;
        bool accepts = _options.AcceptThenFork && record.Success && record.Exit >= 0
            && (kind == CallKind.Accept
                || kind == CallKind.SocketCall && record.U64(RecordLayout.A0) is IdsSyscalls.SysAccept or IdsSyscalls.SysAccept4);
        bool server = IsServerExe(exe);
        if (!accepts && !server) return null;
        return Insert(new Proc(pid, ppid, server ? Role.Server : 0, Encoding.UTF8.GetString(exe), new ChannelFds()));
    }

    /// <summary>
    /// A child of a tracked process is served. It inherits the parent's channels; a super-server's child
    /// also has fds 0 and 1 as channels (inetd passes the connection as standard input and output).
    /// </summary>
    private Proc NewChild(Proc parent, uint pid)
    {
        var fds = parent.Fds.Copy();
        if ((parent.Role & (Role.Server | Role.Acceptor)) != 0)
        {
            fds.Set(0, true);
            fds.Set(1, true);
        }
        return Insert(new Proc(pid, parent.Pid, Role.Served, parent.Exe, fds));
    }

    /// <summary>The parent's fork record: the child, if its own records did not already make its entry.</summary>
    private void Forked(Proc parent, uint child, long timestamp)
    {
        if (_procs.TryGetValue(child, out var existing))
        {
            if (existing.Ppid == parent.Pid && !existing.ForkSeen)
            {
                existing.ForkSeen = true;
                return;
            }
            _pidReuses++;
            Remove(existing);
        }
        var c = NewChild(parent, child);
        c.ForkSeen = true;
        Touch(c, timestamp);
    }

    private bool IsServerExe(ReadOnlySpan<byte> exe)
    {
        if (_serverNames.Length == 0) return false;
        var name = exe[(exe.LastIndexOf((byte)'/') + 1)..];
        foreach (var s in _serverNames)
            if (name.SequenceEqual(s)) return true;
        return false;
    }

    // ---------------------------------------------------------------- the bounded table

    private Proc Insert(Proc p)
    {
        if (_procs.Count >= _options.MaxProcesses)
        {
            _evicted++;
            Remove(_oldest!);
        }
        _procs.Add(p.Pid, p);
        LinkNewest(p);
        _maxTracked = Math.Max(_maxTracked, _procs.Count);
        return p;
    }

    private void Remove(Proc p)
    {
        if (!_procs.Remove(p.Pid)) return;
        Unlink(p);
    }

    private void Touch(Proc p, long timestamp)
    {
        p.LastSeen = Math.Max(p.LastSeen, timestamp);
        if (_newest == p) return;
        Unlink(p);
        LinkNewest(p);
    }

    /// <summary>Drops processes not seen for the idle timeout (the least recently seen are at the tail).</summary>
    private void ExpireIdle(long now)
    {
        if (_options.IdleTimeoutMs == 0) return;
        while (_oldest is { } p && now - p.LastSeen > _options.IdleTimeoutMs)
        {
            _expired++;
            Remove(p);
        }
    }

    private void LinkNewest(Proc p)
    {
        p.Older = _newest;
        p.Newer = null;
        if (_newest is not null) _newest.Newer = p;
        _newest = p;
        _oldest ??= p;
    }

    private void Unlink(Proc p)
    {
        if (p.Newer is not null) p.Newer.Older = p.Older; else _newest = p.Older;
        if (p.Older is not null) p.Older.Newer = p.Newer; else _oldest = p.Newer;
        p.Newer = p.Older = null;
    }
}
