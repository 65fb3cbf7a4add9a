using System.Globalization;
using System.Text;

namespace Filter.Bytecode;

/// <summary>
/// Prints a program as text the <see cref="Assembler"/> reads back to the same bytes, one instruction
/// per line in the style of <c>tcpdump -d</c>: <c>(pc) mnemonic operands  jt T  jf F</c> with absolute
/// targets. Operand syntax comes from the instruction table. Instructions that no row describes
/// exactly (unknown opcode, non-zero unused bytes) print as <c>.raw</c> so any decodable file round-trips.
/// </summary>
public static class Disassembler
{
    public static string Disassemble(ProgramImage image)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"; {image.Code.Count} instructions, {image.Sets.Count} sets, {image.Strings.Count} strings, {image.VerdictCount} verdicts\n");
        for (int k = 0; k < image.Keys.Count; k++)
            sb.Append(CultureInfo.InvariantCulture, $".verdict {k + 1} {Quote(Encoding.UTF8.GetBytes(image.Keys[k]))}\n");
        for (int s = 0; s < image.Sets.Count; s++)
        {
            var set = image.Sets[s];
            sb.Append(CultureInfo.InvariantCulture, $".set {s} {(set.Signed ? "signed" : "unsigned")}");
            for (int r = 0; r < set.Ranges.Count; r++)
            {
                var range = set.Ranges[r];
                sb.Append(r == 0 ? " " : ", ").Append(Number(range.Lo, set.Signed));
                if (range.Hi != range.Lo) sb.Append("..").Append(Number(range.Hi, set.Signed));
            }
            sb.Append('\n');
        }
        for (int s = 0; s < image.Strings.Count; s++)
            sb.Append(CultureInfo.InvariantCulture, $".string {s} {Quote(image.Strings[s].AsSpan())}\n");
        for (int pc = 0; pc < image.Code.Count; pc++)
            sb.Append(CultureInfo.InvariantCulture, $"({pc:D3}) ").Append(Instruction(image.Code[pc], pc)).Append('\n');
        return sb.ToString();
    }

    /// <summary>One instruction, without the pc prefix.</summary>
    public static string Instruction(Instruction insn, int pc)
    {
        var info = InstructionSet.Lookup((byte)insn.Op);
        if (info is null || !Fits(info, insn))
            return string.Create(CultureInfo.InvariantCulture,
                $".raw 0x{(byte)insn.Op:x2}, {insn.A}, {insn.B}, {insn.Reserved}, {insn.Jt}, {insn.Jf}, 0x{insn.Imm:x}");
        var operands = new List<string>();
        if (info.A != Operand.None) operands.Add(Slot(info.A, insn.A));
        if (info.B != Operand.None) operands.Add(Slot(info.B, insn.B));
        if (info.Imm != Operand.None) operands.Add(Immediate(info, insn.Imm));
        string text = operands.Count == 0 ? info.Mnemonic : $"{info.Mnemonic,-8}{string.Join(", ", operands)}";
        return info.Jump switch
        {
            JumpKind.Always => $"{info.Mnemonic,-8}{insn.TrueTarget(pc)}",
            JumpKind.Conditional or JumpKind.Switch => string.Create(CultureInfo.InvariantCulture, $"{text,-33} jt {insn.TrueTarget(pc),-4} jf {insn.FalseTarget(pc)}"),
            _ => text,
        };
    }

    /// <summary>True if the instruction is exactly what its row describes (unused slots zero).</summary>
    private static bool Fits(OpInfo info, Instruction insn) =>
        insn.Reserved == 0
        && (info.A != Operand.None || insn.A == 0)
        && (info.B != Operand.None || insn.B == 0)
        && (info.Imm != Operand.None || insn.Imm == 0)
        && (info.Jump is JumpKind.Always or JumpKind.Conditional or JumpKind.Switch || insn.Jt == 0)
        && (info.Jump is JumpKind.Conditional or JumpKind.Switch || insn.Jf == 0);

    private static string Slot(Operand kind, byte value) => kind switch
    {
        Operand.StringField => RecordLayout.StringAt(value) is { } s ? $"[{s.Name}]" : $"[{value}]",
        _ => $"r{value}",
    };

    private static string Immediate(OpInfo info, ulong imm) => info.Imm switch
    {
        Operand.Field => RecordLayout.ScalarAt((long)Math.Min(imm, long.MaxValue)) is { } f ? $"[{f.Name}]" : $"[{imm}]",
        Operand.Set => $"set{imm}",
        Operand.String => $"str{imm}",
        _ => "#" + Number(imm, info.Signed),
    };

    /// <summary>Signed decimal for signed contexts; otherwise decimal below 65536 and hex above.</summary>
    public static string Number(ulong value, bool signed) =>
        signed ? ((long)value).ToString(CultureInfo.InvariantCulture)
        : value < 65536 ? value.ToString(CultureInfo.InvariantCulture)
        : "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A double-quoted string; bytes outside printable ASCII as \xHH.</summary>
    public static string Quote(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in bytes)
        {
            switch (b)
            {
                case (byte)'"': sb.Append("\\\""); break;
                case (byte)'\\': sb.Append("\\\\"); break;
                case (byte)'\n': sb.Append("\\n"); break;
                case (byte)'\t': sb.Append("\\t"); break;
                case >= 0x20 and < 0x7f: sb.Append((char)b); break;
                default: sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}"); break;
            }
        }
        return sb.Append('"').ToString();
    }
}
