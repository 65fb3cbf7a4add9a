using System.Collections.Frozen;

namespace Filter.Kernel.Asm;

/// <summary>How an instruction's fields are used, for encoding and printing.</summary>
public enum InsnFormat : byte
{
    /// <summary><c>dst op= imm</c> (<c>mov</c>: <c>dst = imm</c>).</summary>
    AluImm,
    /// <summary><c>dst op= src</c>.</summary>
    AluReg,
    /// <summary><c>dst = -dst</c>.</summary>
    AluNeg,
    /// <summary><c>if dst op imm goto off</c>.</summary>
    JumpImm,
    /// <summary><c>if dst op src goto off</c>.</summary>
    JumpReg,
    /// <summary><c>goto off</c> (16-bit offset).</summary>
    Goto,
    /// <summary><c>gotol imm</c> (32-bit offset in imm; kernel 6.3 and later).</summary>
    GotoLong,
    /// <summary><c>call imm</c> (a helper id).</summary>
    Call,
    Exit,
    /// <summary><c>dst = *(size *)(src + off)</c>.</summary>
    Load,
    /// <summary><c>*(size *)(dst + off) = src</c>.</summary>
    Store,
    /// <summary><c>*(size *)(dst + off) = imm</c>.</summary>
    StoreImm,
    /// <summary><c>lock *(size *)(dst + off) += src</c>.</summary>
    AtomicAdd,
    /// <summary><c>dst = imm64</c> over two slots; with src = 1 a map fd, with src = 2 a map value address.</summary>
    LoadImm64,
}

/// <summary>One row of the instruction table.</summary>
/// <param name="Symbol">The operator as the kernel's verifier log prints it (<c>+=</c> is "+", a jump's "&gt;=").</param>
/// <param name="Is32">Operates on the low 32 bits (ALU/JMP32 classes, printed as <c>w</c> registers).</param>
public sealed record InsnInfo(Opcode Op, InsnFormat Format, string Symbol, bool Is32);

/// <summary>
/// The eBPF instructions the back end may emit, defined once: the assembler accepts only opcodes listed
/// here and encodes each by its row's format; the disassembler prints each by its row; a test checks both
/// for every row. Built from the operation lists below, crossed with class and source.
/// </summary>
public static class InstructionTable
{
    private static readonly (AluOp Op, string Symbol)[] AluOps =
    [
        (AluOp.Add, "+"), (AluOp.Sub, "-"), (AluOp.Mul, "*"), (AluOp.Div, "/"), (AluOp.Or, "|"), (AluOp.And, "&"),
        (AluOp.Lsh, "<<"), (AluOp.Rsh, ">>"), (AluOp.Mod, "%"), (AluOp.Xor, "^"), (AluOp.Mov, ""), (AluOp.Arsh, "s>>"),
    ];

    private static readonly (JumpOp Op, string Symbol, JumpOp? Inverse)[] JumpOps =
    [
        (JumpOp.Jeq, "==", JumpOp.Jne), (JumpOp.Jne, "!=", JumpOp.Jeq),
        (JumpOp.Jgt, ">", JumpOp.Jle), (JumpOp.Jle, "<=", JumpOp.Jgt),
        (JumpOp.Jge, ">=", JumpOp.Jlt), (JumpOp.Jlt, "<", JumpOp.Jge),
        (JumpOp.Jsgt, "s>", JumpOp.Jsle), (JumpOp.Jsle, "s<=", JumpOp.Jsgt),
        (JumpOp.Jsge, "s>=", JumpOp.Jslt), (JumpOp.Jslt, "s<", JumpOp.Jsge),
        (JumpOp.Jset, "&", null),
    ];

    private static readonly (OpSize Size, string Name)[] Sizes = [(OpSize.B, "u8"), (OpSize.H, "u16"), (OpSize.W, "u32"), (OpSize.Dw, "u64")];

    public static readonly IReadOnlyList<InsnInfo> All = Build();

    private static List<InsnInfo> Build()
    {
        var rows = new List<InsnInfo>();
        foreach (var cls in new[] { OpClass.Alu64, OpClass.Alu })
        {
            bool is32 = cls == OpClass.Alu;
            foreach (var (op, symbol) in AluOps)
            {
                rows.Add(new(Opcode.Alu(cls, op, OpSource.K), InsnFormat.AluImm, symbol, is32));
                rows.Add(new(Opcode.Alu(cls, op, OpSource.X), InsnFormat.AluReg, symbol, is32));
            }
            rows.Add(new(Opcode.Alu(cls, AluOp.Neg, OpSource.K), InsnFormat.AluNeg, "-", is32));
        }
        foreach (var cls in new[] { OpClass.Jmp, OpClass.Jmp32 })
            foreach (var (op, symbol, _) in JumpOps)
            {
                rows.Add(new(Opcode.Jump(cls, op, OpSource.K), InsnFormat.JumpImm, symbol, cls == OpClass.Jmp32));
                rows.Add(new(Opcode.Jump(cls, op, OpSource.X), InsnFormat.JumpReg, symbol, cls == OpClass.Jmp32));
            }
        rows.Add(new(Opcode.Jump(OpClass.Jmp, JumpOp.Ja, OpSource.K), InsnFormat.Goto, "goto", false));
        rows.Add(new(Opcode.Jump(OpClass.Jmp32, JumpOp.Ja, OpSource.K), InsnFormat.GotoLong, "gotol", false));
        rows.Add(new(Opcode.Jump(OpClass.Jmp, JumpOp.Call, OpSource.K), InsnFormat.Call, "call", false));
        rows.Add(new(Opcode.Jump(OpClass.Jmp, JumpOp.Exit, OpSource.K), InsnFormat.Exit, "exit", false));
        foreach (var (size, name) in Sizes)
        {
            rows.Add(new(Opcode.Memory(OpClass.Ldx, OpMode.Mem, size), InsnFormat.Load, name, false));
            rows.Add(new(Opcode.Memory(OpClass.Stx, OpMode.Mem, size), InsnFormat.Store, name, false));
            rows.Add(new(Opcode.Memory(OpClass.St, OpMode.Mem, size), InsnFormat.StoreImm, name, false));
        }
        rows.Add(new(Opcode.Memory(OpClass.Stx, OpMode.Atomic, OpSize.W), InsnFormat.AtomicAdd, "u32", false));
        rows.Add(new(Opcode.Memory(OpClass.Stx, OpMode.Atomic, OpSize.Dw), InsnFormat.AtomicAdd, "u64", false));
        rows.Add(new(Opcode.LoadImm64, InsnFormat.LoadImm64, "ll", false));
        return rows;
    }

    private static readonly FrozenDictionary<byte, InsnInfo> ByOpcode = All.ToFrozenDictionary(r => r.Op.Value);

    /// <summary>The row of an opcode byte, or null when the back end never emits it.</summary>
    public static InsnInfo? Lookup(Opcode op) => ByOpcode.GetValueOrDefault(op.Value);

    public static InsnInfo Get(Opcode op) => Lookup(op) ?? throw new ArgumentException($"opcode {op} is not in the instruction table", nameof(op));

    /// <summary>The jump that holds exactly when <paramref name="op"/> does not (none for <c>jset</c>).</summary>
    public static JumpOp? Inverse(JumpOp op)
    {
        foreach (var (o, _, inverse) in JumpOps) if (o == op) return inverse;
        throw new ArgumentException($"{op} is not a conditional jump", nameof(op));
    }
}
