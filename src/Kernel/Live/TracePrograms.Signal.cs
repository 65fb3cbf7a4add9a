using Filter.Kernel.Asm;
using Filter.Kernel.Sys;
using Filter.Kernel.Translate;

namespace Filter.Kernel.Live;

internal sealed partial class TracePrograms
{
    /// <summary>
    /// The signals whose default action dumps core (<c>SIG_KERNEL_COREDUMP_MASK</c>, include/linux/signal.h,
    /// numbered as on x86: arch/x86/include/uapi/asm/signal.h), but SIGQUIT, for which audit writes no
    /// ANOM_ABEND (<c>audit_core_dumps</c>): SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS.
    /// </summary>
    private static readonly ValueRange[] CoreDumpSignals = [new(4, 8), new(11, 11), new(24, 25), new(31, 31)];

    /// <summary>
    /// tp_btf/signal_deliver (sig, info, ka), with <see cref="KernelTraceOptions.Signals"/>: a signal the task
    /// takes with its default action, which dumps core, becomes the signal record audit's ANOM_ABEND is
    /// (spec/record.md: type signal, sig, pid, auid, uid, gid, ses, comm, exe; every other field 0); then the
    /// filter, and for a verdict the event, as at sys_exit.
    /// </summary>
    public RawInstruction[] SignalDeliver()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        var dumps = asm.NewLabel("dumps_core");
        asm.Load(OpSize.Dw, Reg.R7, Reg.R1, 0);
        asm.Load(OpSize.Dw, Reg.R2, Reg.R1, 16);
        SyscallPrefilter.Emit(asm, CoreDumpSignals, Reg.R7, Reg.R1, dumps, done);
        asm.Mark(dumps);
        // A handler (or SIG_IGN, 1) takes the signal: no core dump. SIG_DFL is 0.
        asm.Load(OpSize.Dw, Reg.R1, Reg.R2, k.SaHandler);
        asm.Jump(JumpOp.Jne, Reg.R1, 0, done);
        asm.Call(HelperId.GetCurrentTaskBtf);
        asm.Mov(Reg.R8, Reg.R0);
        asm.StoreImm(OpSize.W, Reg.R10, ZeroKeySlot, 0);
        Lookup(asm, maps.Buffer, ZeroKeySlot);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Mov(Reg.R6, Reg.R0);
        asm.Alu(AluOp.Add, Reg.R6, KernelRecord.RecordOffset);
        for (short at = 0; at < RecordLayout.HeaderSize; at += 8) asm.StoreImm(OpSize.Dw, Reg.R6, at, 0);
        asm.StoreImm(OpSize.B, Reg.R6, RecordLayout.Type, RecordLayout.EventTypeSignal);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Sig, Reg.R7);
        asm.Load(OpSize.W, Reg.R1, Reg.R8, k.Tgid);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Pid, Reg.R1);
        asm.Load(OpSize.W, Reg.R1, Reg.R8, k.LoginUid);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Auid, Reg.R1);
        asm.Load(OpSize.W, Reg.R1, Reg.R8, k.SessionId);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Ses, Reg.R1);
        asm.Load(OpSize.Dw, Reg.R2, Reg.R8, k.Cred);
        asm.Load(OpSize.W, Reg.R1, Reg.R2, k.CredIds[0]);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Uid, Reg.R1);
        asm.Load(OpSize.W, Reg.R1, Reg.R2, k.CredIds[1]);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Gid, Reg.R1);
        FilterAndSend(asm, done);
        return asm.Marshal();
    }
}
