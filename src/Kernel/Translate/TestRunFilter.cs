using Filter.Kernel.Asm;
using Filter.Kernel.Maps;
using Filter.Kernel.Programs;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Translate;

/// <summary>
/// A translated filter loaded for BPF_PROG_TEST_RUN, to compare the kernel's verdicts with the other
/// engines' on records of our choosing: a sleepable <c>BPF_PROG_TYPE_SYSCALL</c> program whose context is the
/// event buffer (<see cref="KernelRecord"/>), copied into the same per-CPU buffer the live program gathers
/// into, then the same body. The copy is unrolled: the context can only be read at constant offsets.
/// </summary>
public sealed class TestRunFilter : IDisposable
{
    private readonly BpfMap _buffer;
    private readonly BpfProgram _program;
    private readonly byte[] _context = new byte[KernelRecord.EventCapacity];

    /// <summary>The program as loaded, in the verifier log's notation.</summary>
    public RawInstruction[] Code { get; }

    /// <summary>The instructions the kernel's verifier processed to accept it.</summary>
    public uint VerifiedInstructions => _program.VerifiedInstructions;

    private TestRunFilter(BpfMap buffer, BpfProgram program, RawInstruction[] code)
    {
        _buffer = buffer;
        _program = program;
        Code = code;
    }

    public static KernelResult<TestRunFilter> Load(VerifiedProgram program)
    {
        if (KernelSupport.Check(program) is { } unsupported) return unsupported;
        var buffer = BpfMap.Create(MapType.PercpuArray, 4, KernelRecord.BufferSize, 1, "filter_test_buf");
        if (!buffer.Ok) return buffer.Error!;
        var code = Assemble(program, buffer.Value);
        if (KernelLimits.Check(code, "the filter") is { } limit)
        {
            buffer.Value.Dispose();
            return limit;
        }
        var loaded = BpfProgram.Load(new ProgramSpec(ProgramType.Syscall, code, "filter_test", Flags: BpfConstants.F_SLEEPABLE));
        if (!loaded.Ok)
        {
            buffer.Value.Dispose();
            return loaded.Error!;
        }
        return new TestRunFilter(buffer.Value, loaded.Value, code);
    }

    internal static RawInstruction[] Assemble(VerifiedProgram program, BpfMap buffer)
    {
        var asm = new BpfAssembler();
        var layout = new BodyLayout(Reg.R6);
        const short key = -8;
        var noBuffer = asm.NewLabel("no_buffer");
        asm.Mov(Reg.R7, Reg.R1);
        asm.StoreImm(OpSize.W, Reg.R10, key, 0);
        asm.LoadMap(Reg.R1, buffer.Fd);
        asm.Mov(Reg.R2, Reg.R10);
        asm.Alu(AluOp.Add, Reg.R2, key);
        asm.Call(HelperId.MapLookupElem);
        asm.Jump(JumpOp.Jeq, Reg.R0, 0, noBuffer);
        for (short at = 0; at < KernelRecord.EventCapacity; at += 8)
        {
            asm.Load(OpSize.Dw, Reg.R1, Reg.R7, at);
            asm.Store(OpSize.Dw, Reg.R0, at, Reg.R1);
        }
        asm.Mov(Reg.R6, Reg.R0);
        asm.Alu(AluOp.Add, Reg.R6, KernelRecord.RecordOffset);
        FilterTranslator.EmitBody(asm, program, layout);
        asm.Exit();
        asm.Mark(noBuffer);
        asm.MovImm(Reg.R0, -1);
        asm.Exit();
        return asm.Marshal();
    }

    /// <summary>The verdict the kernel computes for <paramref name="record"/> (at most <see cref="KernelRecord.RecordCapacity"/> bytes).</summary>
    public KernelResult<uint> Run(ReadOnlySpan<byte> record)
    {
        if (record.Length > KernelRecord.RecordCapacity) throw new ArgumentException("record longer than the kernel buffer", nameof(record));
        Array.Clear(_context);
        BitConverter.TryWriteBytes(_context.AsSpan(KernelRecord.LengthOffset), (uint)record.Length);
        record.CopyTo(_context.AsSpan(KernelRecord.RecordOffset));
        long r = TestRun.RunWithContext(_program, _context);
        if (r < 0) return KernelError.FromErrno("run the BPF program (BPF_PROG_TEST_RUN)", (int)-r);
        if ((uint)r == uint.MaxValue) return new KernelError(KernelErrorKind.System, "the test program found no buffer");
        return (uint)r;
    }

    public void Dispose()
    {
        _program.Dispose();
        _buffer.Dispose();
    }
}
