using System.Globalization;
using System.Text;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Asm;

/// <summary>
/// Prints marshalled eBPF as the kernel's verifier log does (<c>kernel/bpf/disasm.c</c>), one slot per line
/// with its index and opcode, so that a refused program's log and our listing read alike. Each line is
/// printed from the instruction's table row.
/// </summary>
public static class BpfDisassembler
{
    public static string Disassemble(ReadOnlySpan<RawInstruction> code)
    {
        var sb = new StringBuilder();
        for (int pc = 0; pc < code.Length; pc++)
        {
            sb.Append(pc.ToString(CultureInfo.InvariantCulture)).Append(": (").Append(code[pc].Opcode.ToString("x2", CultureInfo.InvariantCulture)).Append(") ");
            var insn = code[pc];
            long? high = insn.Op.IsLoadImm64 && pc + 1 < code.Length ? code[pc + 1].Imm : null;
            sb.Append(Format(insn, high)).Append('\n');
            if (high is not null) pc++;
        }
        return sb.ToString();
    }

    /// <summary>One instruction; <paramref name="high"/> is the second slot's immediate of a two-slot load.</summary>
    public static string Format(RawInstruction insn, long? high = null)
    {
        if (InstructionTable.Lookup(insn.Op) is not { } info) return $"unknown opcode 0x{insn.Opcode:x2}";
        string R(Reg r) => (info.Is32 ? "w" : "r") + ((int)r).ToString(CultureInfo.InvariantCulture);
        string Imm(long v) => v < 0 ? "-0x" + (-v).ToString("x", CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);
        string Off(int o) => o < 0 ? o.ToString(CultureInfo.InvariantCulture) : "+" + o.ToString(CultureInfo.InvariantCulture);
        string Mem(Reg b, int o) => $"*({info.Symbol} *)(r{(int)b} {Off(o)})";
        return info.Format switch
        {
            InsnFormat.AluImm => $"{R(insn.Dst)} {info.Symbol}= {insn.Imm.ToString(CultureInfo.InvariantCulture)}",
            InsnFormat.AluReg => $"{R(insn.Dst)} {info.Symbol}= {R(insn.Src)}",
            InsnFormat.AluNeg => $"{R(insn.Dst)} = -{R(insn.Dst)}",
            InsnFormat.JumpImm => $"if {R(insn.Dst)} {info.Symbol} {Imm(insn.Imm)} goto pc{Off(insn.Offset)}",
            InsnFormat.JumpReg => $"if {R(insn.Dst)} {info.Symbol} {R(insn.Src)} goto pc{Off(insn.Offset)}",
            InsnFormat.Goto => $"goto pc{Off(insn.Offset)}",
            InsnFormat.GotoLong => $"gotol pc{Off(insn.Imm)}",
            InsnFormat.Call => $"call {HelperName(insn.Imm)}#{insn.Imm.ToString(CultureInfo.InvariantCulture)}",
            InsnFormat.Exit => "exit",
            InsnFormat.Load => $"r{(int)insn.Dst} = {Mem(insn.Src, insn.Offset)}",
            InsnFormat.Store => $"{Mem(insn.Dst, insn.Offset)} = r{(int)insn.Src}",
            InsnFormat.StoreImm => $"{Mem(insn.Dst, insn.Offset)} = {insn.Imm.ToString(CultureInfo.InvariantCulture)}",
            InsnFormat.AtomicAdd => $"lock {Mem(insn.Dst, insn.Offset)} += r{(int)insn.Src}",
            InsnFormat.LoadImm64 => (uint)insn.Src switch
            {
                BpfConstants.PSEUDO_MAP_FD => $"r{(int)insn.Dst} = map[fd:{insn.Imm.ToString(CultureInfo.InvariantCulture)}]",
                BpfConstants.PSEUDO_MAP_VALUE => $"r{(int)insn.Dst} = map[fd:{insn.Imm.ToString(CultureInfo.InvariantCulture)}][0]+{(high ?? 0).ToString(CultureInfo.InvariantCulture)}",
                _ => $"r{(int)insn.Dst} = {Imm((uint)insn.Imm | ((high ?? 0) << 32))} ll",
            },
            _ => throw new InvalidOperationException($"no printer for format {info.Format}"),
        };
    }

    private static string HelperName(long id) =>
        Enum.IsDefined(typeof(HelperId), (int)id) ? "bpf_" + SnakeCase(((HelperId)(int)id).ToString()) : "unknown";

    private static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder();
        foreach (char c in pascal)
        {
            if (char.IsUpper(c) && sb.Length > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
