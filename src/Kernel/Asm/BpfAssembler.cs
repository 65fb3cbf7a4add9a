using Filter.Kernel.Sys;

namespace Filter.Kernel.Asm;

/// <summary>
/// Builds an eBPF program instruction by instruction. Every emitter goes through the instruction table
/// (<see cref="InstructionTable"/>), so only listed opcodes can be written. Jumps name a <see cref="Label"/>;
/// <see cref="Marshal"/> resolves them, and a conditional jump or <c>goto</c> whose target is beyond the 16-bit
/// offset becomes a <c>gotol</c> (32-bit offset) behind the inverted condition, in passes until the layout is
/// stable (as the x86 JIT fixes its jump sizes).
/// </summary>
public sealed class BpfAssembler
{
    private readonly List<BpfInstruction> _code = [];
    private readonly List<Label> _labels = [];

    /// <summary>Instructions so far (a two-slot load counts once).</summary>
    public int Count => _code.Count;

    public IReadOnlyList<BpfInstruction> Code => _code;

    public Label NewLabel(string? name = null)
    {
        var label = new Label(name);
        _labels.Add(label);
        return label;
    }

    /// <summary>Binds <paramref name="label"/> to the next instruction emitted.</summary>
    public void Mark(Label label)
    {
        if (label.Index >= 0) throw new InvalidOperationException($"label {label} is marked twice");
        label.Index = _code.Count;
    }

    public void Emit(BpfInstruction insn)
    {
        var info = InstructionTable.Get(insn.Op);
        bool jumps = info.Format is InsnFormat.JumpImm or InsnFormat.JumpReg or InsnFormat.Goto or InsnFormat.GotoLong;
        if (jumps != (insn.Target is not null)) throw new ArgumentException($"{insn.Op}: a jump needs a target label, and only a jump has one");
        if (info.Format != InsnFormat.LoadImm64 && (insn.Imm < int.MinValue || insn.Imm > int.MaxValue))
            throw new ArgumentOutOfRangeException(nameof(insn), $"{insn.Op}: immediate {insn.Imm} does not fit in 32 bits");
        _code.Add(insn);
    }

    // ---- ALU -----------------------------------------------------------------------------------

    public void Alu(AluOp op, Reg dst, int imm) => Emit(new(Opcode.Alu(OpClass.Alu64, op, OpSource.K), dst, 0, 0, imm));
    public void Alu(AluOp op, Reg dst, Reg src) => Emit(new(Opcode.Alu(OpClass.Alu64, op, OpSource.X), dst, src, 0, 0));
    public void Neg(Reg dst) => Emit(new(Opcode.Alu(OpClass.Alu64, AluOp.Neg, OpSource.K), dst, 0, 0, 0));
    public void Mov(Reg dst, Reg src) => Alu(AluOp.Mov, dst, src);

    /// <summary>dst = value: one <c>mov</c> when the value is a sign-extended 32-bit immediate, else the two-slot load.</summary>
    public void MovImm(Reg dst, long value)
    {
        if (value is >= int.MinValue and <= int.MaxValue) Alu(AluOp.Mov, dst, (int)value);
        else LoadImm64(dst, value);
    }

    public void LoadImm64(Reg dst, long value) => Emit(new(Opcode.LoadImm64, dst, 0, 0, value));

    /// <summary>dst = the map behind <paramref name="mapFd"/> (for helper calls).</summary>
    public void LoadMap(Reg dst, KernelFd mapFd) => Emit(new(Opcode.LoadImm64, dst, (Reg)BpfConstants.PSEUDO_MAP_FD, 0, (uint)mapFd.Value));

    /// <summary>dst = the address of byte <paramref name="offset"/> of an array map's single value.</summary>
    public void LoadMapValue(Reg dst, KernelFd mapFd, int offset) =>
        Emit(new(Opcode.LoadImm64, dst, (Reg)BpfConstants.PSEUDO_MAP_VALUE, 0, (uint)mapFd.Value | ((long)offset << 32)));

    // ---- memory --------------------------------------------------------------------------------

    public void Load(OpSize size, Reg dst, Reg src, short offset) => Emit(new(Opcode.Memory(OpClass.Ldx, OpMode.Mem, size), dst, src, offset, 0));
    public void Store(OpSize size, Reg dst, short offset, Reg src) => Emit(new(Opcode.Memory(OpClass.Stx, OpMode.Mem, size), dst, src, offset, 0));
    public void StoreImm(OpSize size, Reg dst, short offset, int imm) => Emit(new(Opcode.Memory(OpClass.St, OpMode.Mem, size), dst, 0, offset, imm));
    public void AtomicAdd(OpSize size, Reg dst, short offset, Reg src) =>
        Emit(new(Opcode.Memory(OpClass.Stx, OpMode.Atomic, size), dst, src, offset, (int)AluOp.Add));

    // ---- jumps and calls ------------------------------------------------------------------------

    public void Jump(JumpOp op, Reg dst, int imm, Label target) => Emit(new(Opcode.Jump(OpClass.Jmp, op, OpSource.K), dst, 0, 0, imm, target));
    public void Jump(JumpOp op, Reg dst, Reg src, Label target) => Emit(new(Opcode.Jump(OpClass.Jmp, op, OpSource.X), dst, src, 0, 0, target));
    public void Goto(Label target) => Emit(new(Opcode.Jump(OpClass.Jmp, JumpOp.Ja, OpSource.K), 0, 0, 0, 0, target));
    public void Call(HelperId helper) => Emit(new(Opcode.Jump(OpClass.Jmp, JumpOp.Call, OpSource.K), 0, 0, 0, (int)helper));
    public void Exit() => Emit(new(Opcode.Jump(OpClass.Jmp, JumpOp.Exit, OpSource.K), 0, 0, 0, 0));

    /// <summary>
    /// Jumps to <paramref name="target"/> when <c>dst op value</c> holds, for any 64-bit value: a value beyond
    /// a sign-extended 32-bit immediate is loaded into <paramref name="scratch"/> first.
    /// </summary>
    public void Jump(JumpOp op, Reg dst, long value, Label target, Reg scratch)
    {
        if (value is >= int.MinValue and <= int.MaxValue) Jump(op, dst, (int)value, target);
        else
        {
            LoadImm64(scratch, value);
            Jump(op, dst, scratch, target);
        }
    }

    // ---- marshalling ----------------------------------------------------------------------------

    private enum Shape : byte { Near, FarInverted, FarTriple }

    /// <summary>
    /// The program's slots, with every label resolved. A jump out of 16-bit range becomes, for <c>goto</c>, a
    /// <c>gotol</c>; for a condition with an inverse, <c>if !cond goto +1; gotol target</c>; for <c>jset</c>,
    /// <c>if cond goto +1; goto +1; gotol target</c>.
    /// </summary>
    public RawInstruction[] Marshal()
    {
        foreach (var insn in _code)
            if (insn.Target is { Index: < 0 } unmarked) throw new InvalidOperationException($"jump to {unmarked}, which is never marked");
        DropUnreachable();
        var shape = new Shape[_code.Count];
        var position = new int[_code.Count + 1];
        while (true)
        {
            int at = 0;
            for (int i = 0; i < _code.Count; i++)
            {
                position[i] = at;
                at += SlotsOf(_code[i], shape[i]);
            }
            position[_code.Count] = at;
            bool changed = false;
            for (int i = 0; i < _code.Count; i++)
            {
                if (shape[i] != Shape.Near || _code[i].Target is not { } target) continue;
                int offset = position[target.Index] - (position[i] + 1);
                if (offset is < short.MinValue or > short.MaxValue)
                {
                    bool conditional = _code[i].Info.Format is InsnFormat.JumpImm or InsnFormat.JumpReg;
                    shape[i] = !conditional || InstructionTable.Inverse(_code[i].Op.JumpOp) is not null ? Shape.FarInverted : Shape.FarTriple;
                    changed = true;
                }
            }
            if (!changed) break;
        }

        var output = new RawInstruction[position[_code.Count]];
        for (int i = 0; i < _code.Count; i++)
        {
            var insn = _code[i];
            int at = position[i];
            if (insn.Op.IsLoadImm64)
            {
                output[at] = new RawInstruction(insn.Op, insn.Dst, insn.Src, 0, (int)insn.Imm);
                output[at + 1] = new RawInstruction(0, 0, 0, (int)(insn.Imm >> 32));
                continue;
            }
            if (insn.Target is not { } target)
            {
                output[at] = new RawInstruction(insn.Op, insn.Dst, insn.Src, insn.Offset, (int)insn.Imm);
                continue;
            }
            int to = position[target.Index];
            bool isGoto = insn.Info.Format is InsnFormat.Goto or InsnFormat.GotoLong;
            switch (shape[i])
            {
                case Shape.Near when insn.Info.Format == InsnFormat.GotoLong:
                    output[at] = GotoLong(at, to);
                    break;
                case Shape.Near:
                    output[at] = new RawInstruction(insn.Op, insn.Dst, insn.Src, (short)(to - at - 1), (int)insn.Imm);
                    break;
                case Shape.FarInverted when isGoto:
                    output[at] = GotoLong(at, to);
                    break;
                case Shape.FarInverted:
                    var inverse = Opcode.Jump(insn.Op.Class, InstructionTable.Inverse(insn.Op.JumpOp)!.Value, insn.Op.Source);
                    output[at] = new RawInstruction(inverse, insn.Dst, insn.Src, 1, (int)insn.Imm);
                    output[at + 1] = GotoLong(at + 1, to);
                    break;
                case Shape.FarTriple:
                    output[at] = new RawInstruction(insn.Op, insn.Dst, insn.Src, 1, (int)insn.Imm);
                    output[at + 1] = new RawInstruction(Opcode.Jump(OpClass.Jmp, JumpOp.Ja, OpSource.K), 0, 0, 1, 0);
                    output[at + 2] = GotoLong(at + 2, to);
                    break;
            }
        }
        return output;
    }

    /// <summary>
    /// Removes instructions no path from the first reaches (the kernel's verifier refuses unreachable code, and
    /// a test decided by its constant, such as a prefix of "", leaves its other branch without a path); labels
    /// move to the next instruction kept.
    /// </summary>
    private void DropUnreachable()
    {
        var reached = new bool[_code.Count + 1];
        var stack = new Stack<int>();
        stack.Push(0);
        while (stack.Count > 0)
        {
            int i = stack.Pop();
            if (i >= _code.Count || reached[i]) continue;
            reached[i] = true;
            var insn = _code[i];
            var format = insn.Info.Format;
            if (insn.Target is { } target) stack.Push(target.Index);
            if (format is not (InsnFormat.Goto or InsnFormat.GotoLong or InsnFormat.Exit)) stack.Push(i + 1);
        }
        if (Array.IndexOf(reached, false, 0, _code.Count) < 0) return;
        var newIndex = new int[_code.Count + 1];
        var kept = new List<BpfInstruction>(_code.Count);
        for (int i = 0; i < _code.Count; i++)
        {
            newIndex[i] = kept.Count;
            if (reached[i]) kept.Add(_code[i]);
        }
        newIndex[_code.Count] = kept.Count;
        foreach (var label in _labels)
            if (label.Index >= 0) label.Index = newIndex[label.Index];
        _code.Clear();
        _code.AddRange(kept);
    }

    private static RawInstruction GotoLong(int at, int to) =>
        new(Opcode.Jump(OpClass.Jmp32, JumpOp.Ja, OpSource.K), 0, 0, 0, to - at - 1);

    private static int SlotsOf(BpfInstruction insn, Shape shape) => shape switch
    {
        Shape.Near => insn.Slots,
        Shape.FarInverted => insn.Info.Format is InsnFormat.Goto or InsnFormat.GotoLong ? 1 : 2,
        _ => 3,
    };
}
