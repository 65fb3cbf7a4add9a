namespace Filter.Kernel.Asm;

/// <summary>
/// An instruction before marshalling: like a <see cref="RawInstruction"/>, but with a 64-bit immediate
/// (for the two-slot load) and, for jumps, a <see cref="Label"/> instead of an offset.
/// </summary>
public readonly record struct BpfInstruction(Opcode Op, Reg Dst, Reg Src, short Offset, long Imm, Label? Target = null)
{
    public InsnInfo Info => InstructionTable.Get(Op);

    /// <summary>Slots taken before far jumps are expanded.</summary>
    public int Slots => Op.IsLoadImm64 ? 2 : 1;
}
