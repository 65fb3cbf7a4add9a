using System.Runtime.InteropServices;
using Filter.Kernel.Btf;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Live;

/// <summary>
/// Every kernel struct offset and hook id the live programs use, read from the running kernel's BTF: struct
/// layouts differ between kernel builds, so none is written into the code. x86_64 only for now (the
/// argument registers and the compat flag are the architecture's).
/// </summary>
internal sealed class KernelOffsets
{
    /// <summary><c>TS_COMPAT</c> in <c>thread_info.status</c> (arch/x86/include/asm/thread_info.h): a 32-bit syscall. A flag, not an offset; unchanged since it was introduced.</summary>
    public const int TsCompat = 0x0002;

    public required short OrigAx { get; init; }
    /// <summary>The six argument registers of a 64-bit syscall (di, si, dx, r10, r8, r9) and of a 32-bit one (bx, cx, dx, si, di, bp).</summary>
    public required short[] Args64 { get; init; }
    public required short[] Args32 { get; init; }
    public required short ThreadStatus { get; init; }
    public required short Pid { get; init; }
    public required short Tgid { get; init; }
    public required short RealParent { get; init; }
    public required short Cred { get; init; }
    public required short LoginUid { get; init; }
    public required short SessionId { get; init; }
    public required short Comm { get; init; }
    public required short Signal { get; init; }
    public required short SignalLive { get; init; }
    /// <summary>uid, gid, euid, suid, fsuid, egid, sgid, fsgid in <c>struct cred</c>.</summary>
    public required short[] CredIds { get; init; }
    public required short Mm { get; init; }
    public required short MmExeFile { get; init; }
    public required short FileDentry { get; init; }
    public required short FileMnt { get; init; }
    public required short DentryParent { get; init; }
    public required short DentryNameLen { get; init; }
    public required short DentryName { get; init; }
    public required short VfsmountRoot { get; init; }
    /// <summary>Where the <c>struct vfsmount</c> is inside its <c>struct mount</c> (the kernel's <c>real_mount</c> subtracts it).</summary>
    public required short MountMnt { get; init; }
    public required short MountParent { get; init; }
    public required short MountMountpoint { get; init; }
    /// <summary><c>k_sigaction.sa.sa_handler</c>: SIG_DFL (0) when a signal takes its default action.</summary>
    public required short SaHandler { get; init; }

    public required int SysEnter { get; init; }
    public required int SysExit { get; init; }
    public required int ProcessExec { get; init; }
    public required int ProcessFork { get; init; }
    public required int ProcessExit { get; init; }
    public required int SignalDeliver { get; init; }

    public static KernelResult<KernelOffsets> Resolve(BtfSpec btf)
    {
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return new KernelError(KernelErrorKind.Unsupported, $"tracing system calls in the kernel is implemented for x86_64 only (this is {RuntimeInformation.ProcessArchitecture})");
        KernelError? error = null;
        short At(string type, string path)
        {
            var m = btf.Member(type, path);
            if (!m.Ok) { error ??= m.Error; return 0; }
            if (m.Value.IsBitfield || m.Value.ByteOffset > short.MaxValue) { error ??= new(KernelErrorKind.Btf, $"the kernel's BTF: {type}.{path} is a bitfield or too far into its struct"); return 0; }
            return (short)m.Value.ByteOffset;
        }
        int Hook(string name, BtfKind kind)
        {
            if (btf.Find(name, kind) is { } id) return id;
            error ??= new(KernelErrorKind.Btf, $"the kernel's BTF has no {name} (the kernel needs CONFIG_FTRACE_SYSCALLS and BTF-typed tracepoints, 5.5 or later)");
            return 0;
        }
        var offsets = new KernelOffsets
        {
            OrigAx = At("pt_regs", "orig_ax"),
            Args64 = [At("pt_regs", "di"), At("pt_regs", "si"), At("pt_regs", "dx"), At("pt_regs", "r10"), At("pt_regs", "r8"), At("pt_regs", "r9")],
            Args32 = [At("pt_regs", "bx"), At("pt_regs", "cx"), At("pt_regs", "dx"), At("pt_regs", "si"), At("pt_regs", "di"), At("pt_regs", "bp")],
            ThreadStatus = At("task_struct", "thread_info.status"),
            Pid = At("task_struct", "pid"),
            Tgid = At("task_struct", "tgid"),
            RealParent = At("task_struct", "real_parent"),
            Cred = At("task_struct", "cred"),
            LoginUid = At("task_struct", "loginuid.val"),
            SessionId = At("task_struct", "sessionid"),
            Comm = At("task_struct", "comm"),
            Signal = At("task_struct", "signal"),
            SignalLive = At("signal_struct", "live.counter"),
            CredIds = [.. new[] { "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid" }.Select(n => At("cred", n + ".val"))],
            Mm = At("task_struct", "mm"),
            MmExeFile = At("mm_struct", "exe_file"),
            FileDentry = At("file", "f_path.dentry"),
            FileMnt = At("file", "f_path.mnt"),
            DentryParent = At("dentry", "d_parent"),
            DentryNameLen = At("dentry", "d_name.len"),
            DentryName = At("dentry", "d_name.name"),
            VfsmountRoot = At("vfsmount", "mnt_root"),
            MountMnt = At("mount", "mnt"),
            MountParent = At("mount", "mnt_parent"),
            MountMountpoint = At("mount", "mnt_mountpoint"),
            SaHandler = At("k_sigaction", "sa.sa_handler"),
            SysEnter = Hook("btf_trace_sys_enter", BtfKind.Typedef),
            SysExit = Hook("btf_trace_sys_exit", BtfKind.Typedef),
            ProcessExec = Hook("btf_trace_sched_process_exec", BtfKind.Typedef),
            ProcessFork = Hook("btf_trace_sched_process_fork", BtfKind.Typedef),
            ProcessExit = Hook("btf_trace_sched_process_exit", BtfKind.Typedef),
            SignalDeliver = Hook("btf_trace_signal_deliver", BtfKind.Typedef),
        };
        return error is null ? offsets : error;
    }
}
