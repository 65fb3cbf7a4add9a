using System.Buffers.Binary;

namespace Filter.Bytecode;

/// <summary>
/// One fixed-width 16-byte instruction (spec/bytecode.md):
/// <code>
/// byte 0     opcode
/// byte 1     slot A   (usually the destination register, or a string field's descriptor offset)
/// byte 2     slot B   (usually the source register)
/// byte 3     reserved, 0
/// bytes 4-5  jt       forward offset taken when the condition holds: target = pc + 1 + jt
/// bytes 6-7  jf       forward offset otherwise
/// bytes 8-15 imm      64-bit immediate, field offset, set/string index or verdict
/// </code>
/// Offsets are unsigned, so a backward jump cannot even be written.
/// </summary>
public readonly record struct Instruction(OpCode Op, byte A, byte B, ushort Jt, ushort Jf, ulong Imm, byte Reserved = 0)
{
    public void WriteTo(Span<byte> destination)
    {
        destination[0] = (byte)Op;
        destination[1] = A;
        destination[2] = B;
        destination[3] = Reserved;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Jt);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], Jf);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Imm);
    }

    public static Instruction ReadFrom(ReadOnlySpan<byte> source) => new(
        (OpCode)source[0], source[1], source[2],
        BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        source[3]);

    /// <summary>The absolute target of jt, from the instruction at <paramref name="pc"/>.</summary>
    public int TrueTarget(int pc) => pc + 1 + Jt;
    public int FalseTarget(int pc) => pc + 1 + Jf;
}
