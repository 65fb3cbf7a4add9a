using System.Collections.Frozen;
using Filter.Compiler.Tables;
using Filter.VM;

namespace Filter.Audit.Ids;

/// <summary>What a system call means to the IDS state machine (spec/ids.md, "What the pre-filter passes").</summary>
internal enum CallKind : byte
{
    /// <summary>Changes nothing; counted toward the distance only.</summary>
    Other,
    /// <summary>read, readv: a receive when the fd (a0) is a known socket or pipe and data came back.</summary>
    Read,
    /// <summary>recvfrom, recvmsg, recvmmsg: a receive whenever data came back (they fail on anything but a socket).</summary>
    Recv,
    /// <summary>fork, vfork: the return value is the child's pid.</summary>
    Fork,
    /// <summary>clone: like fork, unless its flags (a0) have CLONE_THREAD (a thread, not a process).</summary>
    Clone,
    /// <summary>clone3: its flags are behind a pointer, so the child (process or thread) is adopted by its own records' ppid.</summary>
    Clone3,
    /// <summary>execve, execveat: a new executable, same pid and fds.</summary>
    Exec,
    /// <summary>exit_group: the process ends.</summary>
    ExitGroup,
    /// <summary>accept, accept4: a connection (the return value, a socket); marks the caller as a super-server candidate.</summary>
    Accept,
    /// <summary>socket: the return value is a socket.</summary>
    Socket,
    /// <summary>Calls returning a new fd that is neither a socket nor a pipe (open, openat, eventfd, ...).</summary>
    NewOtherFd,
    /// <summary>dup: return value = copy of a0.</summary>
    Dup,
    /// <summary>dup2, dup3: return value (= a1) becomes a copy of a0.</summary>
    Dup2,
    /// <summary>fcntl, fcntl64: with F_DUPFD or F_DUPFD_CLOEXEC (a1), like dup.</summary>
    Fcntl,
    /// <summary>close: a0 is no longer anything.</summary>
    Close,
    /// <summary>close_range(a0, a1, flags a2).</summary>
    CloseRange,
    /// <summary>i386 socketcall(call a0, args*): the sub-call is known, its arguments are behind a pointer.</summary>
    SocketCall,
}

/// <summary>
/// The system calls the IDS reacts to, by name, and their numbers per architecture. The names are the one
/// definition: they make both the pre-filter's text (<see cref="IdsPreFilter"/>) and the table the state
/// machine classifies records with, so the two cannot disagree. Names an architecture lacks (fork on
/// aarch64, socketcall outside i386) are skipped for it, as the filter language does.
/// </summary>
internal static class IdsSyscalls
{
    /// <summary>Each kind's calls. Every name exists in at least one architecture's table (a test checks).</summary>
    public static readonly IReadOnlyList<(CallKind Kind, string[] Names)> ByKind =
    [
        (CallKind.Read, ["read", "readv"]),
        (CallKind.Recv, ["recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64"]),
        (CallKind.Fork, ["fork", "vfork"]),
        (CallKind.Clone, ["clone"]),
        (CallKind.Clone3, ["clone3"]),
        (CallKind.Exec, ["execve", "execveat"]),
        (CallKind.ExitGroup, ["exit_group"]),
        (CallKind.Accept, ["accept", "accept4"]),
        (CallKind.Socket, ["socket"]),
        (CallKind.NewOtherFd, [
            "open", "openat", "openat2", "creat", "open_by_handle_at", "memfd_create", "memfd_secret",
            "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "inotify_init", "inotify_init1",
            "epoll_create", "epoll_create1", "fanotify_init", "perf_event_open", "userfaultfd", "pidfd_open",
            "pidfd_getfd", "io_uring_setup", "fsopen", "fsmount", "fspick", "open_tree"]),
        (CallKind.Dup, ["dup"]),
        (CallKind.Dup2, ["dup2", "dup3"]),
        (CallKind.Fcntl, ["fcntl", "fcntl64"]),
        (CallKind.Close, ["close"]),
        (CallKind.CloseRange, ["close_range"]),
        (CallKind.SocketCall, ["socketcall"]),
        // exit ends a thread, not the process; it is passed (and counted) so that a raw exit(2) after the
        // receive still counts as a system call. It changes no state.
        (CallKind.Other, ["exit"]),
    ];

    /// <summary>Every name above, in order: the pre-filter's syscall set.</summary>
    public static IEnumerable<string> AllNames => ByKind.SelectMany(k => k.Names);

    private static readonly FrozenDictionary<uint, CallKind[]> Tables = BuildTables();

    private static FrozenDictionary<uint, CallKind[]> BuildTables()
    {
        var tables = new Dictionary<uint, CallKind[]>();
        foreach (var (_, arch) in AuditArch.All)
        {
            int max = Syscalls.ForArch(arch).Max(e => e.Number);
            var table = new CallKind[max + 1];
            foreach (var (kind, names) in ByKind)
                foreach (var name in names)
                    if (Syscalls.TryGetNumber(arch, name, out int number)) table[number] = kind;
            tables[arch] = table;
        }
        return tables.ToFrozenDictionary();
    }

    /// <summary>The kind of system call <paramref name="number"/> in <paramref name="arch"/> (Other when unknown).</summary>
    public static CallKind Classify(uint arch, uint number) =>
        Tables.TryGetValue(arch, out var table) && number < (uint)table.Length ? table[number] : CallKind.Other;

    /// <summary>The call's name for an alert: the table's name, or the number when it has none.</summary>
    public static string NameOf(uint arch, uint number) =>
        number <= int.MaxValue && Syscalls.NameOf(arch, (int)number) is { } name ? name : $"syscall {number}";

    // socketcall(2) sub-calls (include/uapi/linux/net.h).
    public const ulong SysSocket = 1, SysAccept = 5, SysRecv = 10, SysRecvfrom = 12, SysRecvmsg = 17, SysAccept4 = 18, SysRecvmmsg = 19;

    /// <summary>The name of a socketcall sub-call the IDS knows, for an alert.</summary>
    public static string SocketCallName(ulong call) => call switch
    {
        SysRecv => "socketcall(recv)",
        SysRecvfrom => "socketcall(recvfrom)",
        SysRecvmsg => "socketcall(recvmsg)",
        SysRecvmmsg => "socketcall(recvmmsg)",
        _ => $"socketcall({call})",
    };

    public const ulong CloneThread = 0x00010000;       // CLONE_THREAD
    public const ulong FDupfd = 0, FDupfdCloexec = 1030; // fcntl commands that duplicate
    public const ulong CloseRangeCloexec = 1u << 2;    // CLOSE_RANGE_CLOEXEC: marks, does not close
}
