namespace Filter.Kernel.Asm;

/// <summary>
/// An eBPF opcode byte, read as its bit fields (Documentation/bpf/standardization/instruction-set.rst):
/// the low 3 bits are the class; for loads and stores the size (bits 3-4) and mode (bits 5-7); for ALU
/// and jump classes the source (bit 3) and the operation (bits 4-7). The field values are generated from
/// the kernel's headers (<see cref="OpClass"/>, <see cref="OpSize"/>, ...).
/// </summary>
public readonly record struct Opcode(byte Value)
{
    public OpClass Class => (OpClass)(Value & 0x07);
    public OpSize Size => (OpSize)(Value & 0x18);
    public OpMode Mode => (OpMode)(Value & 0xe0);
    public OpSource Source => (OpSource)(Value & 0x08);
    public AluOp AluOp => (AluOp)(Value & 0xf0);
    public JumpOp JumpOp => (JumpOp)(Value & 0xf0);

    /// <summary>The wide (two-slot) 64-bit immediate load.</summary>
    public bool IsLoadImm64 => Value == LoadImm64.Value;

    public static Opcode Alu(OpClass cls, AluOp op, OpSource src) => new((byte)((byte)cls | (byte)op | (byte)src));
    public static Opcode Jump(OpClass cls, JumpOp op, OpSource src) => new((byte)((byte)cls | (byte)op | (byte)src));
    public static Opcode Memory(OpClass cls, OpMode mode, OpSize size) => new((byte)((byte)cls | (byte)mode | (byte)size));

    public static readonly Opcode LoadImm64 = Memory(OpClass.Ld, OpMode.Imm, OpSize.Dw);

    public override string ToString() => $"0x{Value:x2}";
}

/// <summary>eBPF registers: r0 return value, r1-r5 arguments (clobbered by calls), r6-r9 callee-saved, r10 the read-only frame pointer.</summary>
public enum Reg : byte { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 }
