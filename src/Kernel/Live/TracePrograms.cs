using Filter.Kernel.Asm;
using Filter.Kernel.Maps;
using Filter.Kernel.Sys;
using Filter.Kernel.Translate;

namespace Filter.Kernel.Live;

/// <summary>
/// The live programs' code: a syscall-entry program that keeps the arguments as they entered, the exit
/// program that gathers the record, runs the translated filter and sends what matches, and four small
/// programs that keep each process's executable path (spec/kernel.md). Every struct offset comes from
/// <see cref="KernelOffsets"/>.
/// </summary>
internal sealed partial class TracePrograms(KernelOffsets k, TraceMaps maps, VerifiedProgram filter, SyscallPrefilter prefilter)
{
    // The exit and entry programs' frame (the filter's registers are in the buffer, not here).
    private const short KeySlot = -8, ZeroKeySlot = -4, PidTgidSlot = -16, FlagsSlot = -24, ArchSlot = -32, EntrySlot = -96;

    /// <summary>Ring-buffer fill above which a send wakes the reader (below it, the reader polls): batches wake-ups under load.</summary>
    private int WakeAbove => maps.Events.MaxEntries / 4;

    private readonly bool _filterReadsExe = filter.FieldsRead.Contains("exe");

    /// <summary>Adds 1 to a counter in this CPU's line of the counters' array value (its address is a constant: no lookup).</summary>
    private void Count(BpfAssembler asm, TraceMaps.Counter counter)
    {
        var skip = asm.NewLabel();
        asm.Call(HelperId.GetSmpProcessorId);
        asm.Jump(JumpOp.Jge, Reg.R0, Cpus.Possible, skip);
        asm.Alu(AluOp.Mul, Reg.R0, TraceMaps.CounterLine);
        asm.LoadMapValue(Reg.R1, maps.Counters.Fd, (int)counter * 8);
        asm.Alu(AluOp.Add, Reg.R1, Reg.R0);
        // A plain add, not a locked one: the kernel runs BPF programs at these tracepoints with preemption off
        // (the syscall ones under guard(preempt_notrace), include/trace/bpf_probe.h), none of our hooks fires in
        // interrupt context, and each CPU has its own line: nothing else can touch the line between the load and the store.
        asm.Load(OpSize.Dw, Reg.R2, Reg.R1, 0);
        asm.Alu(AluOp.Add, Reg.R2, 1);
        asm.Store(OpSize.Dw, Reg.R1, 0, Reg.R2);
        asm.Mark(skip);
    }

    /// <summary>
    /// The task's arch into <see cref="ArchSlot"/> (a 32-bit call sets TS_COMPAT in thread_info.status for its
    /// duration: i386; else x86_64), when the number in r7 is in that arch's <paramref name="native"/> or
    /// <paramref name="compat"/> ranges; else to <paramref name="other"/>.
    /// </summary>
    private void ArchTest(BpfAssembler asm, Reg task, IReadOnlyList<ValueRange> native, IReadOnlyList<ValueRange> compat, Label other)
    {
        var isCompat = asm.NewLabel("compat");
        var nativeCandidate = asm.NewLabel("native_candidate");
        var compatCandidate = asm.NewLabel("compat_candidate");
        var known = asm.NewLabel("arch_known");
        asm.Load(OpSize.W, Reg.R1, task, k.ThreadStatus);
        asm.Alu(AluOp.And, Reg.R1, KernelOffsets.TsCompat);
        asm.Jump(JumpOp.Jne, Reg.R1, 0, isCompat);
        SyscallPrefilter.Emit(asm, native, Reg.R7, Reg.R1, nativeCandidate, other);
        asm.Mark(nativeCandidate);
        asm.StoreImm(OpSize.Dw, Reg.R10, ArchSlot, unchecked((int)AuditArch.X86_64));
        asm.Goto(known);
        asm.Mark(isCompat);
        SyscallPrefilter.Emit(asm, compat, Reg.R7, Reg.R1, compatCandidate, other);
        asm.Mark(compatCandidate);
        asm.StoreImm(OpSize.Dw, Reg.R10, ArchSlot, unchecked((int)AuditArch.I386));
        asm.Mark(known);
    }

    private static void Lookup(BpfAssembler asm, BpfMap map, short keySlot)
    {
        asm.LoadMap(Reg.R1, map.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, keySlot);
        asm.Call(HelperId.MapLookupElem);
    }

    /// <summary>
    /// tp_btf/sys_enter (regs, id), attached only when the filter may match a call of
    /// <see cref="SyscallPrefilter.EntryCalls"/>: for such a call, the number, arguments and arch, keyed by thread. A thread's entry is written in place once it exists (a lookup,
    /// no update: an update of the LRU map takes its locks).
    /// </summary>
    public RawInstruction[] Enter()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        var candidate = asm.NewLabel("candidate");
        asm.Mov(Reg.R6, Reg.R1);
        asm.Load(OpSize.Dw, Reg.R7, Reg.R6, 8);
        SyscallPrefilter.Emit(asm, prefilter.EntryAny, Reg.R7, Reg.R1, candidate, done);
        asm.Mark(candidate);
        asm.Load(OpSize.Dw, Reg.R8, Reg.R6, 0);
        asm.Call(HelperId.GetCurrentTaskBtf);
        ArchTest(asm, Reg.R0, prefilter.EntryNative, prefilter.EntryCompat, done);
        asm.Load(OpSize.W, Reg.R9, Reg.R10, ArchSlot);
        // r9 = arch. The thread's entry, made (zeroed) on its first candidate call.
        asm.Call(HelperId.GetCurrentPidTgid);
        asm.Store(OpSize.W, Reg.R10, KeySlot, Reg.R0);
        Lookup(asm, maps.InFlight, KeySlot);
        var found = asm.NewLabel("found");
        asm.Jump(JumpOp.Jne, Reg.R0, 0, found);
        for (short at = 0; at < TraceMaps.EntrySize; at += 8) asm.StoreImm(OpSize.Dw, Reg.R10, (short)(EntrySlot + at), 0);
        asm.LoadMap(Reg.R1, maps.InFlight.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, KeySlot);
        asm.Mov(Reg.R3, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R3, EntrySlot);
        asm.MovImm(Reg.R4, BpfConstants.ANY);
        asm.Call(HelperId.MapUpdateElem);
        Lookup(asm, maps.InFlight, KeySlot);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Mark(found);
        var args32 = asm.NewLabel("args32");
        var stored = asm.NewLabel("stored");
        asm.Store(OpSize.W, Reg.R0, TraceMaps.EntryArch, Reg.R9);
        asm.Jump(JumpOp.Jne, Reg.R9, (long)AuditArch.X86_64, args32, Reg.R1);
        Arguments(k.Args64);
        asm.Goto(stored);
        asm.Mark(args32);
        Arguments(k.Args32);
        asm.Mark(stored);
        // The number last: the exit program takes an entry whose number is its call's.
        asm.Store(OpSize.Dw, Reg.R0, TraceMaps.EntryNr, Reg.R7);
        asm.Mark(done);
        asm.MovImm(Reg.R0, 0);
        asm.Exit();
        return asm.Marshal();

        void Arguments(short[] registers)
        {
            for (int i = 0; i < 6; i++)
            {
                asm.Load(OpSize.Dw, Reg.R1, Reg.R8, registers[i]);
                asm.Store(OpSize.Dw, Reg.R0, (short)(TraceMaps.EntryArgs + 8 * i), Reg.R1);
            }
        }
    }

    /// <summary>
    /// tp_btf/sys_exit (regs, ret): the syscall test first; then the record gathered into the per-CPU buffer
    /// (the entry's number, arguments and arch, the result, the task's ids, comm, exe), the translated filter,
    /// and for a verdict the event into the ring buffer, counted as matched or, when the ring is full, lost.
    /// </summary>
    public RawInstruction[] Exit()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        var candidate = asm.NewLabel("candidate");
        asm.Mov(Reg.R9, Reg.R1);
        Count(asm, TraceMaps.Counter.Seen);
        asm.Load(OpSize.Dw, Reg.R1, Reg.R9, 0);
        asm.Load(OpSize.Dw, Reg.R7, Reg.R1, k.OrigAx);
        SyscallPrefilter.Emit(asm, prefilter.Ranges, Reg.R7, Reg.R1, candidate, done);
        asm.Mark(candidate);

        asm.Call(HelperId.GetCurrentTaskBtf);
        asm.Mov(Reg.R8, Reg.R0);
        ArchTest(asm, Reg.R8, prefilter.Native, prefilter.Compat, done);

        asm.Call(HelperId.GetCurrentPidTgid);
        asm.Store(OpSize.Dw, Reg.R10, PidTgidSlot, Reg.R0);
        asm.Store(OpSize.W, Reg.R10, KeySlot, Reg.R0);
        asm.StoreImm(OpSize.W, Reg.R10, ZeroKeySlot, 0);
        Lookup(asm, maps.Buffer, ZeroKeySlot);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Mov(Reg.R6, Reg.R0);
        asm.Alu(AluOp.Add, Reg.R6, KernelRecord.RecordOffset);
        asm.Load(OpSize.W, Reg.R1, Reg.R10, ArchSlot);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Arch, Reg.R1);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Syscall, Reg.R7);

        // The arguments: from the registers at exit, or for the calls whose registers exit cannot trust, from
        // the entry sys_enter kept (none: the call entered before we attached, or it is a new task's first
        // return from fork, which audit does not record either).
        var argsDone = asm.NewLabel("args_done");
        var fromEntry = asm.NewLabel("from_entry");
        var fromRegs = asm.NewLabel("from_regs");
        var compatRegs = asm.NewLabel("compat_regs");
        if (prefilter.NeedsEntry)
        {
            var entryCompat = asm.NewLabel("entry_compat");
            asm.Load(OpSize.W, Reg.R1, Reg.R10, ArchSlot);
            asm.Jump(JumpOp.Jne, Reg.R1, (long)AuditArch.X86_64, entryCompat, Reg.R2);
            SyscallPrefilter.Emit(asm, prefilter.EntryNative, Reg.R7, Reg.R1, fromEntry, fromRegs);
            asm.Mark(entryCompat);
            SyscallPrefilter.Emit(asm, prefilter.EntryCompat, Reg.R7, Reg.R1, fromEntry, fromRegs);
            asm.Mark(fromEntry);
            Lookup(asm, maps.InFlight, KeySlot);
            asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
            asm.Load(OpSize.Dw, Reg.R1, Reg.R0, TraceMaps.EntryNr);
            asm.Jump(JumpOp.Jne, Reg.R1, Reg.R7, done);
            asm.StoreImm(OpSize.Dw, Reg.R0, TraceMaps.EntryNr, -1); // consumed
            for (int i = 0; i < 6; i++)
            {
                asm.Load(OpSize.Dw, Reg.R1, Reg.R0, (short)(TraceMaps.EntryArgs + 8 * i));
                asm.Store(OpSize.Dw, Reg.R6, (short)(RecordLayout.A0 + 8 * i), Reg.R1);
            }
            asm.Goto(argsDone);
        }
        asm.Mark(fromRegs);
        asm.Load(OpSize.Dw, Reg.R2, Reg.R9, 0);
        asm.Load(OpSize.W, Reg.R1, Reg.R10, ArchSlot);
        asm.Jump(JumpOp.Jne, Reg.R1, (long)AuditArch.X86_64, compatRegs, Reg.R3);
        ArgumentsFrom(asm, k.Args64);
        asm.Goto(argsDone);
        asm.Mark(compatRegs);
        ArgumentsFrom(asm, k.Args32);
        asm.Mark(argsDone);
        Count(asm, TraceMaps.Counter.Gathered);

        // exit and success: as audit reports them, a restarted call's -ERESTART* as -EINTR.
        asm.Load(OpSize.Dw, Reg.R1, Reg.R9, 8);
        var failed = asm.NewLabel();
        var successStored = asm.NewLabel();
        asm.Jump(JumpOp.Jslt, Reg.R1, 0, failed);
        asm.StoreImm(OpSize.B, Reg.R6, RecordLayout.Success, 1);
        asm.Goto(successStored);
        asm.Mark(failed);
        asm.StoreImm(OpSize.B, Reg.R6, RecordLayout.Success, 0);
        var keep = asm.NewLabel();
        asm.Jump(JumpOp.Jsgt, Reg.R1, -512, keep);     // -ERESTARTSYS
        asm.Jump(JumpOp.Jslt, Reg.R1, -516, keep);     // -ERESTART_RESTARTBLOCK
        asm.Jump(JumpOp.Jeq, Reg.R1, -515, keep);      // -ENOIOCTLCMD is not a restart
        asm.MovImm(Reg.R1, -4);                        // -EINTR
        asm.Mark(keep);
        asm.Mark(successStored);
        asm.Store(OpSize.Dw, Reg.R6, RecordLayout.Exit, Reg.R1);

        // The task: pid, ppid, auid, ses, the credentials, comm.
        asm.Load(OpSize.Dw, Reg.R1, Reg.R10, PidTgidSlot);
        asm.Alu(AluOp.Rsh, Reg.R1, 32);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Pid, Reg.R1);
        asm.Load(OpSize.Dw, Reg.R1, Reg.R8, k.RealParent);
        asm.Load(OpSize.W, Reg.R1, Reg.R1, k.Tgid);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Ppid, Reg.R1);
        asm.Load(OpSize.W, Reg.R1, Reg.R8, k.LoginUid);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Auid, Reg.R1);
        asm.Load(OpSize.W, Reg.R1, Reg.R8, k.SessionId);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.Ses, Reg.R1);
        asm.Load(OpSize.Dw, Reg.R2, Reg.R8, k.Cred);
        int[] credFields = [RecordLayout.Uid, RecordLayout.Gid, RecordLayout.Euid, RecordLayout.Suid, RecordLayout.Fsuid, RecordLayout.Egid, RecordLayout.Sgid, RecordLayout.Fsgid];
        for (int i = 0; i < credFields.Length; i++)
        {
            asm.Load(OpSize.W, Reg.R1, Reg.R2, k.CredIds[i]);
            asm.Store(OpSize.W, Reg.R6, (short)credFields[i], Reg.R1);
        }
        asm.StoreImm(OpSize.B, Reg.R6, RecordLayout.Type, RecordLayout.EventTypeSyscall);
        asm.StoreImm(OpSize.H, Reg.R6, RecordLayout.Type + 1, 0);
        asm.StoreImm(OpSize.W, Reg.R6, RecordLayout.Sig, 0);
        FilterAndSend(asm, done);
        return asm.Marshal();
    }

    /// <summary>
    /// The end of a program that has gathered a record's other fields at r6 (the task in r8): comm and exe,
    /// the translated filter, and for a verdict the event into the ring buffer, counted as matched or, when
    /// the ring is full, lost; then the exit, which <paramref name="done"/> jumps to.
    /// </summary>
    private void FilterAndSend(BpfAssembler asm, Label done)
    {
        Comm(asm);
        // exe: before the filter when it reads exe; otherwise only for a record that matched.
        if (_filterReadsExe) Exe(asm);
        else
        {
            asm.MovImm(Reg.R1, 0);
            StoreExeLength(asm);
        }

        FilterTranslator.EmitBody(asm, filter, new BodyLayout(Reg.R6));

        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Store(OpSize.W, Reg.R6, KernelRecord.VerdictOffset - KernelRecord.RecordOffset, Reg.R0);
        if (!_filterReadsExe) Exe(asm);
        asm.Call(HelperId.KtimeGetBootNs);
        asm.Store(OpSize.Dw, Reg.R6, KernelRecord.TimestampOffset - KernelRecord.RecordOffset, Reg.R0);
        // Wake the reader only when the ring fills up; it polls otherwise (each wake-up costs more than the record).
        asm.LoadMap(Reg.R1, maps.Events.Fd);
        asm.MovImm(Reg.R2, BpfConstants.RB_AVAIL_DATA);
        asm.Call(HelperId.RingbufQuery);
        asm.StoreImm(OpSize.Dw, Reg.R10, FlagsSlot, (int)BpfConstants.RB_NO_WAKEUP);
        var quiet = asm.NewLabel();
        asm.Jump(JumpOp.Jle, Reg.R0, WakeAbove, quiet);
        asm.StoreImm(OpSize.Dw, Reg.R10, FlagsSlot, (int)BpfConstants.RB_FORCE_WAKEUP);
        asm.Mark(quiet);
        asm.LoadMap(Reg.R1, maps.Events.Fd);
        asm.Mov(Reg.R2, Reg.R6);
        asm.Alu(AluOp.Add, Reg.R2, -KernelRecord.RecordOffset);
        asm.Load(OpSize.W, Reg.R3, Reg.R6, KernelRecord.LengthFromRecord);
        asm.Alu(AluOp.Add, Reg.R3, KernelRecord.HeaderSize);
        var sized = asm.NewLabel();
        asm.Jump(JumpOp.Jle, Reg.R3, KernelRecord.EventCapacity, sized);
        asm.MovImm(Reg.R3, KernelRecord.EventCapacity);
        asm.Mark(sized);
        asm.Load(OpSize.Dw, Reg.R4, Reg.R10, FlagsSlot);
        asm.Call(HelperId.RingbufOutput);
        var lost = asm.NewLabel("lost");
        asm.Jump(JumpOp.Jne, Reg.R0, 0, lost);
        Count(asm, TraceMaps.Counter.Matched);
        asm.Goto(done);
        asm.Mark(lost);
        Count(asm, TraceMaps.Counter.Lost);
        asm.Mark(done);
        asm.MovImm(Reg.R0, 0);
        asm.Exit();
    }

    /// <summary>a0..a5 from the registers at r2 (the exit's pt_regs).</summary>
    private static void ArgumentsFrom(BpfAssembler asm, short[] registers)
    {
        for (int i = 0; i < 6; i++)
        {
            asm.Load(OpSize.Dw, Reg.R1, Reg.R2, registers[i]);
            asm.Store(OpSize.Dw, Reg.R6, (short)(RecordLayout.A0 + 8 * i), Reg.R1);
        }
    }

    private const short CommAt = RecordLayout.HeaderSize, ExeAt = RecordLayout.HeaderSize + RecordLayout.CommMaxLength;

    /// <summary>comm (at most 15 bytes, as the task holds it) into its slot; task in r8.</summary>
    private void Comm(BpfAssembler asm)
    {
        asm.Mov(Reg.R1, Reg.R6);
        asm.Alu(AluOp.Add, Reg.R1, CommAt);
        asm.MovImm(Reg.R2, RecordLayout.CommMaxLength + 1);
        asm.Mov(Reg.R3, Reg.R8);
        asm.Alu(AluOp.Add, Reg.R3, k.Comm);
        asm.Call(HelperId.ProbeReadKernelStr);
        // The length read, NUL included; nothing read is the empty string.
        var some = asm.NewLabel();
        asm.Jump(JumpOp.Jsgt, Reg.R0, 0, some);
        asm.MovImm(Reg.R0, 1);
        asm.Mark(some);
        asm.Alu(AluOp.Sub, Reg.R0, 1);
        asm.Alu(AluOp.And, Reg.R0, 0xf);
        asm.Alu(AluOp.Lsh, Reg.R0, 16);
        asm.Alu(AluOp.Or, Reg.R0, CommAt);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.CommDescriptor, Reg.R0);
    }

    /// <summary>exe from the process's entry in the exe map (empty when it has none), and the record's length.</summary>
    private void Exe(BpfAssembler asm)
    {
        var none = asm.NewLabel("no_exe");
        var set = asm.NewLabel();
        asm.Load(OpSize.W, Reg.R1, Reg.R6, RecordLayout.Pid);
        asm.Store(OpSize.W, Reg.R10, KeySlot, Reg.R1);
        Lookup(asm, maps.Exe, KeySlot);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, none);
        asm.Load(OpSize.W, Reg.R3, Reg.R0, TraceMaps.PathStart);
        asm.Jump(JumpOp.Jgt, Reg.R3, TraceMaps.PathArea, none);
        asm.Alu(AluOp.Add, Reg.R3, Reg.R0);
        asm.Alu(AluOp.Add, Reg.R3, TraceMaps.PathBytes);
        asm.Load(OpSize.W, Reg.R7, Reg.R0, TraceMaps.PathLength);
        asm.Jump(JumpOp.Jeq, Reg.R7, 0, none);
        asm.Jump(JumpOp.Jgt, Reg.R7, RecordLayout.ExeMaxLength, none);
        asm.Mov(Reg.R1, Reg.R6);
        asm.Alu(AluOp.Add, Reg.R1, ExeAt);
        asm.Mov(Reg.R2, Reg.R7);
        asm.Call(HelperId.ProbeReadKernel);
        asm.Mov(Reg.R1, Reg.R7);
        asm.Goto(set);
        asm.Mark(none);
        asm.MovImm(Reg.R1, 0);
        asm.Mark(set);
        StoreExeLength(asm);
    }

    /// <summary>The exe descriptor and the record length, for an exe of r1 bytes.</summary>
    private static void StoreExeLength(BpfAssembler asm)
    {
        asm.Mov(Reg.R2, Reg.R1);
        asm.Alu(AluOp.Lsh, Reg.R2, 16);
        asm.Alu(AluOp.Or, Reg.R2, ExeAt);
        asm.Store(OpSize.W, Reg.R6, RecordLayout.ExeDescriptor, Reg.R2);
        asm.Alu(AluOp.Add, Reg.R1, ExeAt);
        asm.Store(OpSize.W, Reg.R6, KernelRecord.LengthFromRecord, Reg.R1);
    }

    /// <summary>Directory levels (and mount crossings) of an executable's path walked at exec; a deeper path keeps its last ones.</summary>
    private const int PathLevels = 48;

    /// <summary>
    /// tp_btf/sched_process_exec (p, old_pid, bprm): the new executable's path, as d_path gives audit its
    /// <c>exe</c>: from <c>p->mm->exe_file</c>'s dentry up to the root, crossing mounts, each name written before the
    /// last (backwards from the end of the scratch area), unrolled. Kernel memory is read with
    /// bpf_probe_read_kernel: a mount is reached from its vfsmount by subtracting an offset, which typed loads refuse.
    /// </summary>
    public RawInstruction[] Exec()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        var finish = asm.NewLabel("finish");
        // Its own frame (the exit program's slots are not this program's).
        const short Tgid = -4, Name = -8, Parent = -16, Root = -24, NamePtr = -32, MountParent = -40, Mountpoint = -48, Mount = -56, ZeroKey = -60;
        asm.Load(OpSize.Dw, Reg.R6, Reg.R1, 0);
        asm.Load(OpSize.W, Reg.R1, Reg.R6, k.Tgid);
        asm.Store(OpSize.W, Reg.R10, Tgid, Reg.R1);
        // The exe file: typed loads through the trusted task.
        asm.Load(OpSize.Dw, Reg.R1, Reg.R6, k.Mm);
        asm.Jump(JumpOp.Jeq, Reg.R1, 0, done);
        asm.Load(OpSize.Dw, Reg.R1, Reg.R1, k.MmExeFile);
        asm.Jump(JumpOp.Jeq, Reg.R1, 0, done);
        asm.Load(OpSize.Dw, Reg.R7, Reg.R1, k.FileDentry);
        asm.Load(OpSize.Dw, Reg.R8, Reg.R1, k.FileMnt);
        asm.StoreImm(OpSize.W, Reg.R10, ZeroKey, 0);
        Lookup(asm, maps.PathScratch, ZeroKey);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Mov(Reg.R6, Reg.R0);
        asm.MovImm(Reg.R9, TraceMaps.PathArea);
        for (int level = 0; level < PathLevels; level++)
        {
            var mountRoot = asm.NewLabel();
            var next = asm.NewLabel();
            Probe(Parent, 8, Reg.R7, k.DentryParent);
            Probe(Root, 8, Reg.R8, k.VfsmountRoot);
            asm.Load(OpSize.Dw, Reg.R1, Reg.R10, Root);
            asm.Jump(JumpOp.Jeq, Reg.R7, Reg.R1, mountRoot);
            asm.Load(OpSize.Dw, Reg.R1, Reg.R10, Parent);
            asm.Jump(JumpOp.Jeq, Reg.R7, Reg.R1, mountRoot);
            Probe(Name, 4, Reg.R7, k.DentryNameLen);
            Probe(NamePtr, 8, Reg.R7, k.DentryName);
            // pos -= 1 + len, then "/" and the name at pos.
            asm.Load(OpSize.W, Reg.R2, Reg.R10, Name);
            asm.Jump(JumpOp.Jgt, Reg.R2, 255, finish);
            asm.Mov(Reg.R3, Reg.R9);
            asm.Alu(AluOp.Sub, Reg.R3, Reg.R2);
            asm.Alu(AluOp.Sub, Reg.R3, 1);
            asm.Jump(JumpOp.Jslt, Reg.R3, 0, finish);
            asm.Jump(JumpOp.Jsgt, Reg.R3, TraceMaps.PathArea, finish);
            asm.Mov(Reg.R9, Reg.R3);
            asm.Mov(Reg.R1, Reg.R6);
            asm.Alu(AluOp.Add, Reg.R1, TraceMaps.PathBytes);
            asm.Alu(AluOp.Add, Reg.R1, Reg.R9);
            asm.StoreImm(OpSize.B, Reg.R1, 0, '/');
            asm.Alu(AluOp.Add, Reg.R1, 1);
            asm.Load(OpSize.W, Reg.R2, Reg.R10, Name);
            asm.Jump(JumpOp.Jgt, Reg.R2, 255, finish);
            asm.Load(OpSize.Dw, Reg.R3, Reg.R10, NamePtr);
            asm.Call(HelperId.ProbeReadKernel);
            asm.Load(OpSize.Dw, Reg.R7, Reg.R10, Parent);
            asm.Goto(next);
            // At the root of a mount: continue from where it is mounted, or stop at the root of them all.
            asm.Mark(mountRoot);
            asm.Mov(Reg.R1, Reg.R8);
            asm.Alu(AluOp.Sub, Reg.R1, k.MountMnt);
            asm.Store(OpSize.Dw, Reg.R10, Mount, Reg.R1);
            Probe(MountParent, 8, Reg.R1, k.MountParent);
            asm.Load(OpSize.Dw, Reg.R1, Reg.R10, MountParent);
            asm.Load(OpSize.Dw, Reg.R2, Reg.R10, Mount);
            asm.Jump(JumpOp.Jeq, Reg.R1, Reg.R2, finish);
            Probe(Mountpoint, 8, Reg.R2, k.MountMountpoint);
            asm.Load(OpSize.Dw, Reg.R7, Reg.R10, Mountpoint);
            asm.Load(OpSize.Dw, Reg.R8, Reg.R10, MountParent);
            asm.Alu(AluOp.Add, Reg.R8, k.MountMnt);
            asm.Mark(next);
        }
        asm.Mark(finish);
        // Nothing written: the root itself.
        var written = asm.NewLabel();
        asm.Jump(JumpOp.Jne, Reg.R9, TraceMaps.PathArea, written);
        asm.MovImm(Reg.R9, TraceMaps.PathArea - 1);
        asm.StoreImm(OpSize.B, Reg.R6, TraceMaps.PathBytes + TraceMaps.PathArea - 1, '/');
        asm.Mark(written);
        asm.Store(OpSize.W, Reg.R6, TraceMaps.PathStart, Reg.R9);
        asm.MovImm(Reg.R1, TraceMaps.PathArea);
        asm.Alu(AluOp.Sub, Reg.R1, Reg.R9);
        asm.Store(OpSize.W, Reg.R6, TraceMaps.PathLength, Reg.R1);
        asm.LoadMap(Reg.R1, maps.Exe.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, Tgid);
        asm.Mov(Reg.R3, Reg.R6);
        asm.MovImm(Reg.R4, BpfConstants.ANY);
        asm.Call(HelperId.MapUpdateElem);
        asm.Mark(done);
        asm.MovImm(Reg.R0, 0);
        asm.Exit();
        return asm.Marshal();

        // *(r10 + slot) = the size bytes at address (base + offset) of kernel memory.
        void Probe(short slot, int size, Reg address, short offset)
        {
            asm.Mov(Reg.R3, address);
            asm.Alu(AluOp.Add, Reg.R3, offset);
            asm.Mov(Reg.R1, Reg.R10);
            asm.Alu(AluOp.Add, Reg.R1, slot);
            asm.MovImm(Reg.R2, size);
            asm.Call(HelperId.ProbeReadKernel);
        }
    }

    /// <summary>tp_btf/sched_process_fork (parent, child): a new process (not a thread) starts with its parent's exe.</summary>
    public RawInstruction[] Fork()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        asm.Load(OpSize.Dw, Reg.R6, Reg.R1, 0);
        asm.Load(OpSize.Dw, Reg.R7, Reg.R1, 8);
        asm.Load(OpSize.W, Reg.R1, Reg.R7, k.Pid);
        asm.Load(OpSize.W, Reg.R2, Reg.R7, k.Tgid);
        asm.Jump(JumpOp.Jne, Reg.R1, Reg.R2, done);
        asm.Store(OpSize.W, Reg.R10, -8, Reg.R2);
        asm.Load(OpSize.W, Reg.R1, Reg.R6, k.Tgid);
        asm.Store(OpSize.W, Reg.R10, -4, Reg.R1);
        Lookup(asm, maps.Exe, -4);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, done);
        asm.Mov(Reg.R3, Reg.R0);
        asm.LoadMap(Reg.R1, maps.Exe.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, -8);
        asm.MovImm(Reg.R4, BpfConstants.ANY);
        asm.Call(HelperId.MapUpdateElem);
        asm.Mark(done);
        asm.MovImm(Reg.R0, 0);
        asm.Exit();
        return asm.Marshal();
    }

    /// <summary>tp_btf/sched_process_exit (p): when the last thread of a process exits, its exe entry goes.</summary>
    public RawInstruction[] TaskExit()
    {
        var asm = new BpfAssembler();
        var done = asm.NewLabel("done");
        asm.Load(OpSize.Dw, Reg.R6, Reg.R1, 0);
        asm.Load(OpSize.Dw, Reg.R1, Reg.R6, k.Signal);
        asm.Load(OpSize.W, Reg.R1, Reg.R1, k.SignalLive);
        asm.Jump(JumpOp.Jne, Reg.R1, 0, done);
        asm.Load(OpSize.W, Reg.R1, Reg.R6, k.Tgid);
        asm.Store(OpSize.W, Reg.R10, -4, Reg.R1);
        asm.LoadMap(Reg.R1, maps.Exe.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, -4);
        asm.Call(HelperId.MapDeleteElem);
        asm.Mark(done);
        asm.MovImm(Reg.R0, 0);
        asm.Exit();
        return asm.Marshal();
    }
}
