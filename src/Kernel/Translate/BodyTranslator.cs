using Filter.Kernel.Asm;
using FilterInsn = Filter.Bytecode.Instruction;

namespace Filter.Kernel.Translate;

/// <summary>
/// Where the translated filter finds its record and keeps its registers. Our sixteen 64-bit registers do
/// not fit eBPF's ten, so each lives in a stack slot (<c>r10 + RegisterSlots + 8 * n</c>) and every
/// instruction reloads its operands: no value the kernel's verifier has narrowed stays live in an eBPF
/// register across compares (that makes its path exploration slow), and our registers survive helper calls.
/// </summary>
/// <param name="Record">An eBPF register holding the record's address (a map value), preserved by the body.</param>
/// <param name="RegisterSlots">The frame offset of our r0's slot; r15's ends 128 bytes above it.</param>
public sealed record BodyLayout(Reg Record, short RegisterSlots = -128)
{
    public short Slot(int register) => (short)(RegisterSlots + 8 * register);
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

    private void Translate(int pc, FilterInsn insn)
    {
        long imm = (long)insn.Imm;
        switch (insn.Op)
        {
            case OpCode.Ret:
                _asm.MovImm(Reg.R0, imm);
                if (pc + 1 < _pcs.Length) _asm.Goto(_done);
                break;

            case OpCode.Ldb: LoadField(OpSize.B, insn); break;
            case OpCode.Ldw: LoadField(OpSize.W, insn); break;
            case OpCode.Lddw: LoadField(OpSize.Dw, insn); break;

            case OpCode.MovK:
                if (imm is >= int.MinValue and <= int.MaxValue) _asm.StoreImm(OpSize.Dw, Reg.R10, _layout.Slot(insn.A), (int)imm);
                else
                {
                    _asm.LoadImm64(A, imm);
                    Save(insn.A);
                }
                break;
            case OpCode.MovX:
                Load(A, insn.B);
                Save(insn.A);
                break;

            case OpCode.AddK: AluK(AluOp.Add, insn); break;
            case OpCode.AddX: AluX(AluOp.Add, insn); break;
            case OpCode.SubK: AluK(AluOp.Sub, insn); break;
            case OpCode.SubX: AluX(AluOp.Sub, insn); break;
            case OpCode.AndK: AluK(AluOp.And, insn); break;
            case OpCode.AndX: AluX(AluOp.And, insn); break;
            case OpCode.OrK: AluK(AluOp.Or, insn); break;
            case OpCode.OrX: AluX(AluOp.Or, insn); break;
            case OpCode.XorK: AluK(AluOp.Xor, insn); break;
            case OpCode.XorX: AluX(AluOp.Xor, insn); break;

            // Our shifts are mathematical (spec/bytecode.md): by 64 or more, 0 or the sign fill. eBPF's verifier
            // refuses a constant shift of 64 or more, and masks a variable one, so both are guarded here.
            case OpCode.LshK or OpCode.RshK:
                if (insn.Imm >= 64) _asm.StoreImm(OpSize.Dw, Reg.R10, _layout.Slot(insn.A), 0);
                else AluK(insn.Op == OpCode.LshK ? AluOp.Lsh : AluOp.Rsh, insn);
                break;
            case OpCode.ArshK:
                Load(A, insn.A);
                _asm.Alu(AluOp.Arsh, A, (int)Math.Min(insn.Imm, 63));
                Save(insn.A);
                break;
            case OpCode.LshX: ShiftX(AluOp.Lsh, insn); break;
            case OpCode.RshX: ShiftX(AluOp.Rsh, insn); break;
            case OpCode.ArshX: ShiftX(AluOp.Arsh, insn); break;

            case OpCode.Neg:
                Load(A, insn.A);
                _asm.Neg(A);
                Save(insn.A);
                break;
            case OpCode.Not:
                Load(A, insn.A);
                _asm.Alu(AluOp.Xor, A, -1);
                Save(insn.A);
                break;

            case OpCode.Ja:
                GotoPc(pc, insn.TrueTarget(pc));
                break;

            case OpCode.JeqK: CompareK(JumpOp.Jeq, pc, insn); break;
            case OpCode.JeqX: CompareX(JumpOp.Jeq, pc, insn); break;
            case OpCode.JgtK: CompareK(JumpOp.Jgt, pc, insn); break;
            case OpCode.JgtX: CompareX(JumpOp.Jgt, pc, insn); break;
            case OpCode.JgeK: CompareK(JumpOp.Jge, pc, insn); break;
            case OpCode.JgeX: CompareX(JumpOp.Jge, pc, insn); break;
            case OpCode.JsgtK: CompareK(JumpOp.Jsgt, pc, insn); break;
            case OpCode.JsgtX: CompareX(JumpOp.Jsgt, pc, insn); break;
            case OpCode.JsgeK: CompareK(JumpOp.Jsge, pc, insn); break;
            case OpCode.JsgeX: CompareX(JumpOp.Jsge, pc, insn); break;
            case OpCode.JsetK: CompareK(JumpOp.Jset, pc, insn); break;
            case OpCode.JsetX: CompareX(JumpOp.Jset, pc, insn); break;

            case OpCode.Jin:
                Load(A, insn.A);
                var set = _program.Sets[(int)insn.Imm];
                CompareTree.Emit(_asm, set.Ranges, set.Signed, A, B, _pcs[insn.TrueTarget(pc)], _pcs[insn.FalseTarget(pc)]);
                break;
            case OpCode.JstrEq or OpCode.JstrPrefix:
                StringTest(insn.A, _program.Strings[(int)insn.Imm], insn.Op == OpCode.JstrPrefix,
                    _pcs[insn.TrueTarget(pc)], _pcs[insn.FalseTarget(pc)]);
                break;

            // jstrsfx and jstrsub are refused before translation (KernelSupport), as is every other opcode without a case.
            default:
                throw new InvalidOperationException($"pc {pc}: no translation for opcode {insn.Op}");
        }
    }

    private void Load(Reg to, int register) => _asm.Load(OpSize.Dw, to, Reg.R10, _layout.Slot(register));
    private void Save(int register) => _asm.Store(OpSize.Dw, Reg.R10, _layout.Slot(register), A);

    private void LoadField(OpSize size, FilterInsn insn)
    {
        // The record is the ABI: a field is a zero-extending load at its offset from the record register.
        _asm.Load(size, A, _layout.Record, (short)insn.Imm);
        Save(insn.A);
    }

    private void AluK(AluOp op, FilterInsn insn)
    {
        Load(A, insn.A);
        long imm = (long)insn.Imm;
        if (imm is >= int.MinValue and <= int.MaxValue) _asm.Alu(op, A, (int)imm);
        else
        {
            _asm.LoadImm64(B, imm);
            _asm.Alu(op, A, B);
        }
        Save(insn.A);
    }

    private void AluX(AluOp op, FilterInsn insn)
    {
        Load(A, insn.A);
        Load(B, insn.B);
        _asm.Alu(op, A, B);
        Save(insn.A);
    }

    private void ShiftX(AluOp op, FilterInsn insn)
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
        Save(insn.A);
    }

    private void CompareK(JumpOp op, int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        var (jump, target, other) = Branch(op, pc, insn);
        _asm.Jump(jump, A, (long)insn.Imm, _pcs[target], B);
        GotoPc(pc, other);
    }

    private void CompareX(JumpOp op, int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        Load(B, insn.B);
        var (jump, target, other) = Branch(op, pc, insn);
        _asm.Jump(jump, A, B, _pcs[target]);
        GotoPc(pc, other);
    }

    /// <summary>The jump to emit and where it and the fall-through go: inverted when jt is the next pc, so it falls through.</summary>
    private static (JumpOp Jump, int Target, int Other) Branch(JumpOp op, int pc, FilterInsn insn)
    {
        int jt = insn.TrueTarget(pc), jf = insn.FalseTarget(pc);
        return jt == pc + 1 && jf != pc + 1 && InstructionTable.Inverse(op) is { } inverse ? (inverse, jf, jt) : (op, jt, jf);
    }

    /// <summary>A jump to our pc <paramref name="target"/>, left out when it is the next instruction.</summary>
    private void GotoPc(int pc, int target)
    {
        if (target != pc + 1) _asm.Goto(_pcs[target]);
    }
}
