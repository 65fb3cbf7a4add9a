using Filter.Kernel.Asm;
using FilterInsn = Filter.Bytecode.Instruction;

namespace Filter.Kernel.Translate;

/// <summary>
/// Where the translated filter finds its record and keeps its registers: both in the per-CPU buffer
/// (<see cref="KernelRecord"/>), our sixteen 64-bit registers after the record. Every instruction loads its
/// operands from there and stores its result back, and no eBPF register carries a value from one of our
/// instructions to the next: the kernel's verifier does not track map memory, so at each of our pcs it knows
/// the same on every path (nothing), its states there are equal, and it verifies each pc once instead of once
/// per path (spec/kernel.md, "How much the kernel's verifier does").
/// </summary>
/// <param name="Record">An eBPF register holding the record's address (a map value), preserved by the body.</param>
public sealed record BodyLayout(Reg Record)
{
    /// <summary>Our register's offset from <see cref="Record"/>.</summary>
    public short Slot(int register) => (short)(KernelRecord.RegistersFromRecord + 8 * register);
}

/// <summary>
/// Translates a verified program into eBPF, one case per opcode, each a few fixed instructions over the
/// record (the shape of the kernel's x86 JIT, <c>do_jit</c>). The body ends with the verdict in r0 at
/// its end label; r1-r5 are scratch. Only a <see cref="VerifiedProgram"/> is accepted: the kernel's verifier
/// checks the result again, but the translation relies on ours (registers written before read, loads of
/// whole fields, constant indices in range, forward jumps).
/// </summary>
internal sealed partial class BodyTranslator
{
    // eBPF registers of the body: the operand, the second operand, and scratch.
    private const Reg A = Reg.R1, B = Reg.R2, T1 = Reg.R3, T2 = Reg.R4, T3 = Reg.R5;

    private readonly BpfAssembler _asm;
    private readonly FilterView _program;
    private readonly BodyLayout _layout;
    private readonly Label[] _pcs;
    private readonly Label _done;

    private BodyTranslator(BpfAssembler asm, FilterView program, BodyLayout layout)
    {
        _asm = asm;
        _program = program;
        _layout = layout;
        _pcs = new Label[program.Code.Count];
        for (int pc = 0; pc < _pcs.Length; pc++) _pcs[pc] = asm.NewLabel($"pc{pc}");
        _done = asm.NewLabel("verdict");
    }

    /// <summary>Appends the body to <paramref name="asm"/>; afterwards r0 holds the verdict.</summary>
    public static void Emit(BpfAssembler asm, FilterView program, BodyLayout layout)
    {
        var t = new BodyTranslator(asm, program, layout);
        for (int pc = 0; pc < program.Code.Count; pc++)
        {
            asm.Mark(t._pcs[pc]);
            t.Translate(pc, program.Code[pc]);
        }
        asm.Mark(t._done);
    }

    /// <summary>
    /// The translation table: one arm per opcode. A switch expression with no default arm, so that a new opcode
    /// without a kernel translation is a compile error (CS8509), not a failing test.
    /// </summary>
    private void Translate(int pc, FilterInsn insn) => _ = insn.Op switch
    {
        OpCode.Ret => Return(pc, (long)insn.Imm),

        OpCode.Ldb => LoadField(OpSize.B, insn),
        OpCode.Ldw => LoadField(OpSize.W, insn),
        OpCode.Lddw => LoadField(OpSize.Dw, insn),

        OpCode.MovK => MoveK(insn.A, (long)insn.Imm),
        OpCode.MovX => MoveX(insn),
        OpCode.AddK => AluK(AluOp.Add, insn),
        OpCode.AddX => AluX(AluOp.Add, insn),
        OpCode.SubK => AluK(AluOp.Sub, insn),
        OpCode.SubX => AluX(AluOp.Sub, insn),
        OpCode.AndK => AluK(AluOp.And, insn),
        OpCode.AndX => AluX(AluOp.And, insn),
        OpCode.OrK => AluK(AluOp.Or, insn),
        OpCode.OrX => AluX(AluOp.Or, insn),
        OpCode.XorK => AluK(AluOp.Xor, insn),
        OpCode.XorX => AluX(AluOp.Xor, insn),
        OpCode.LshK => ShiftK(AluOp.Lsh, insn),
        OpCode.RshK => ShiftK(AluOp.Rsh, insn),
        OpCode.ArshK => ShiftK(AluOp.Arsh, insn),
        OpCode.LshX => ShiftX(AluOp.Lsh, insn),
        OpCode.RshX => ShiftX(AluOp.Rsh, insn),
        OpCode.ArshX => ShiftX(AluOp.Arsh, insn),
        OpCode.Neg => Unary(insn, negate: true),
        OpCode.Not => Unary(insn, negate: false),

        OpCode.Ja => GotoPc(pc, insn.TrueTarget(pc)),
        OpCode.JeqK => CompareK(JumpOp.Jeq, pc, insn),
        OpCode.JeqX => CompareX(JumpOp.Jeq, pc, insn),
        OpCode.JgtK => CompareK(JumpOp.Jgt, pc, insn),
        OpCode.JgtX => CompareX(JumpOp.Jgt, pc, insn),
        OpCode.JgeK => CompareK(JumpOp.Jge, pc, insn),
        OpCode.JgeX => CompareX(JumpOp.Jge, pc, insn),
        OpCode.JsgtK => CompareK(JumpOp.Jsgt, pc, insn),
        OpCode.JsgtX => CompareX(JumpOp.Jsgt, pc, insn),
        OpCode.JsgeK => CompareK(JumpOp.Jsge, pc, insn),
        OpCode.JsgeX => CompareX(JumpOp.Jsge, pc, insn),
        OpCode.JsetK => CompareK(JumpOp.Jset, pc, insn),
        OpCode.JsetX => CompareX(JumpOp.Jset, pc, insn),
        OpCode.Jin => SetTest(pc, insn),
        OpCode.Jswitch => SwitchTest(pc, insn),
        OpCode.JstrEq => StringTest(pc, insn, StringMatch.Equal),
        OpCode.JstrPrefix => StringTest(pc, insn, StringMatch.Prefix),
        OpCode.JstrSuffix => StringTest(pc, insn, StringMatch.Suffix),
        OpCode.JstrContains => StringTest(pc, insn, StringMatch.Contains),
    };

    /// <summary>What an arm of <see cref="Translate"/> yields: the eBPF is emitted, nothing is returned.</summary>
    private readonly struct Emitted;

    private void Load(Reg to, int register) => _asm.Load(OpSize.Dw, to, _layout.Record, _layout.Slot(register));

    private Emitted Save(int register)
    {
        _asm.Store(OpSize.Dw, _layout.Record, _layout.Slot(register), A);
        return default;
    }

    private Emitted Return(int pc, long verdict)
    {
        _asm.MovImm(Reg.R0, verdict);
        return pc + 1 < _pcs.Length ? Goto(_done) : default;
    }

    private Emitted Goto(Label target)
    {
        _asm.Goto(target);
        return default;
    }

    /// <summary>The record is the ABI: a field is a zero-extending load at its offset from the record register.</summary>
    private Emitted LoadField(OpSize size, FilterInsn insn)
    {
        _asm.Load(size, A, _layout.Record, (short)insn.Imm);
        return Save(insn.A);
    }

    private Emitted MoveK(int register, long imm)
    {
        if (imm is >= int.MinValue and <= int.MaxValue)
        {
            _asm.StoreImm(OpSize.Dw, _layout.Record, _layout.Slot(register), (int)imm);
            return default;
        }
        _asm.LoadImm64(A, imm);
        return Save(register);
    }

    private Emitted MoveX(FilterInsn insn)
    {
        Load(A, insn.B);
        return Save(insn.A);
    }

    private Emitted AluK(AluOp op, FilterInsn insn)
    {
        Load(A, insn.A);
        long imm = (long)insn.Imm;
        if (imm is >= int.MinValue and <= int.MaxValue) _asm.Alu(op, A, (int)imm);
        else
        {
            _asm.LoadImm64(B, imm);
            _asm.Alu(op, A, B);
        }
        return Save(insn.A);
    }

    private Emitted AluX(AluOp op, FilterInsn insn)
    {
        Load(A, insn.A);
        Load(B, insn.B);
        _asm.Alu(op, A, B);
        return Save(insn.A);
    }

    /// <summary><c>neg</c> (<paramref name="negate"/>) or <c>not</c> (all bits flipped).</summary>
    private Emitted Unary(FilterInsn insn, bool negate)
    {
        Load(A, insn.A);
        if (negate) _asm.Neg(A);
        else _asm.Alu(AluOp.Xor, A, -1);
        return Save(insn.A);
    }

    /// <summary>
    /// Our shifts are mathematical (spec/bytecode.md): by 64 or more, 0 or the sign fill. eBPF's verifier refuses
    /// a constant shift of 64 or more, so lsh/rsh by such a count store 0 and arsh shifts by 63 (the sign fill).
    /// </summary>
    private Emitted ShiftK(AluOp op, FilterInsn insn)
    {
        if (insn.Imm < 64) return AluK(op, insn);
        if (op != AluOp.Arsh) return MoveK(insn.A, 0);
        Load(A, insn.A);
        _asm.Alu(AluOp.Arsh, A, 63);
        return Save(insn.A);
    }

    /// <summary>eBPF masks a variable shift count, we do not: a count over 63 gives 0, or for arsh the sign fill (a shift by 63).</summary>
    private Emitted ShiftX(AluOp op, FilterInsn insn)
    {
        Load(A, insn.A);
        Load(B, insn.B);
        var inRange = _asm.NewLabel();
        _asm.Jump(JumpOp.Jle, B, 63, inRange);
        if (op == AluOp.Arsh) _asm.MovImm(B, 63);
        else _asm.MovImm(B, 0);
        if (op != AluOp.Arsh) _asm.MovImm(A, 0);
        _asm.Mark(inRange);
        _asm.Alu(op, A, B);
        return Save(insn.A);
    }

    private Emitted CompareK(JumpOp op, int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        var (jump, target, other) = Branch(op, pc, insn);
        _asm.Jump(jump, A, (long)insn.Imm, _pcs[target], B);
        return GotoPc(pc, other);
    }

    private Emitted CompareX(JumpOp op, int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        Load(B, insn.B);
        var (jump, target, other) = Branch(op, pc, insn);
        _asm.Jump(jump, A, B, _pcs[target]);
        return GotoPc(pc, other);
    }

    private Emitted SetTest(int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        var set = _program.Sets[(int)insn.Imm];
        CompareTree.Emit(_asm, set.Ranges, set.Signed, A, B, _pcs[insn.TrueTarget(pc)], _pcs[insn.FalseTarget(pc)]);
        return default;
    }

    private Emitted StringTest(int pc, FilterInsn insn, StringMatch match)
    {
        StringTest(insn.A, _program.Strings[(int)insn.Imm], match, _pcs[insn.TrueTarget(pc)], _pcs[insn.FalseTarget(pc)]);
        return default;
    }

    /// <summary>The jump to emit and where it and the fall-through go: inverted when jt is the next pc, so it falls through.</summary>
    private static (JumpOp Jump, int Target, int Other) Branch(JumpOp op, int pc, FilterInsn insn)
    {
        int jt = insn.TrueTarget(pc), jf = insn.FalseTarget(pc);
        return jt == pc + 1 && jf != pc + 1 && InstructionTable.Inverse(op) is { } inverse ? (inverse, jf, jt) : (op, jt, jf);
    }

    /// <summary>A jump to our pc <paramref name="target"/>, left out when it is the next instruction.</summary>
    private Emitted GotoPc(int pc, int target) => target != pc + 1 ? Goto(_pcs[target]) : default;
}
