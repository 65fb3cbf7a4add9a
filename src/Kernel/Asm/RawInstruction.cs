using System.Runtime.InteropServices;

namespace Filter.Kernel.Asm;

/// <summary>
/// One 8-byte instruction slot as the kernel reads it (<c>struct bpf_insn</c>): opcode, destination register
/// (low nibble) and source register (high nibble), a signed 16-bit offset and a signed 32-bit immediate. The
/// 64-bit immediate load takes two slots, the second holding only the high half of the constant.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public readonly record struct RawInstruction(byte Opcode, byte Registers, short Offset, int Imm)
{
    public const int Size = 8;

    public RawInstruction(Opcode op, Reg dst, Reg src, short offset, int imm)
        : this(op.Value, (byte)((byte)dst | ((byte)src << 4)), offset, imm) { }

    public Reg Dst => (Reg)(Registers & 0x0f);
    public Reg Src => (Reg)(Registers >> 4);
    public Opcode Op => new(Opcode);
}
