using System.Globalization;
using System.Text;

namespace Filter.Bytecode;

/// <summary>
/// Reads the text the <see cref="Disassembler"/> writes (spec/bytecode.md, "Assembly"). Syntax only:
/// the assembler will happily encode a program the verifier rejects, which is how the verifier's tests
/// and users' experiments are written. Operand shapes come from the instruction table.
/// </summary>
public static class Assembler
{
    /// <summary>The image, or the first line that cannot be read (FLT1001, at that line, with its text).</summary>
    public static (ProgramImage? Image, Diagnostic? Error) Assemble(string text)
    {
        var code = new List<Instruction>();
        var sets = new List<ValueSet>();
        var strings = new List<byte[]>();
        var keys = new List<string>();
        var lines = text.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            string line = StripComment(lines[n]).Trim();
            if (line.Length == 0) continue;
            string? error = line[0] == '.' && !line.StartsWith(".raw", StringComparison.Ordinal)
                ? Directive(line, sets, strings, keys)
                : InstructionLine(line, code);
            if (error is not null)
                return (null, new Diagnostic(DiagnosticCode.AssemblySyntax, DiagnosticLocation.InputLine(n + 1), error) { SourceText = lines[n].TrimEnd('\r') });
        }
        return (new ProgramImage(code, sets, strings, keys), null);
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\' && quoted) i++;
            else if (line[i] == '"') quoted = !quoted;
            else if (line[i] == ';' && !quoted) return line[..i];
        }
        return line;
    }

    private static string? Directive(string line, List<ValueSet> sets, List<byte[]> strings, List<string> keys)
    {
        var (word, rest) = SplitWord(line);
        var (indexText, body) = SplitWord(rest);
        if (!int.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return $"{word} needs an index, got '{indexText}'";
        switch (word)
        {
            case ".verdict":
                if (index != keys.Count + 1) return $".verdict {index} out of order; expected .verdict {keys.Count + 1}";
                if (!TryUnquote(body, out var key, out string? keyError)) return keyError;
                try { keys.Add(new UTF8Encoding(false, true).GetString(key)); }
                catch (DecoderFallbackException) { return "key is not valid UTF-8"; }
                return null;
            case ".string":
                if (index != strings.Count) return $".string {index} out of order; expected .string {strings.Count}";
                if (!TryUnquote(body, out var bytes, out string? stringError)) return stringError;
                strings.Add(bytes);
                return null;
            case ".set":
            {
                if (index != sets.Count) return $".set {index} out of order; expected .set {sets.Count}";
                var (kind, list) = SplitWord(body);
                if (kind is not ("signed" or "unsigned")) return $".set needs 'signed' or 'unsigned', got '{kind}'";
                bool signed = kind == "signed";
                var ranges = new List<ValueRange>();
                if (list.Length > 0)
                {
                    foreach (var item in list.Split(','))
                    {
                        var parts = item.Trim().Split("..");
                        if (parts.Length > 2 || !TryNumber(parts[0], out ulong lo) || !TryNumber(parts[^1], out ulong hi))
                            return $"bad set element '{item.Trim()}'";
                        ranges.Add(new ValueRange(lo, hi));
                    }
                }
                sets.Add(new ValueSet(signed, ranges));
                return null;
            }
            default:
                return $"unknown directive '{word}' (expected .verdict, .set, .string or .raw)";
        }
    }

    private static string? InstructionLine(string line, List<Instruction> code)
    {
        int pc = code.Count;
        if (line.StartsWith('('))
        {
            int close = line.IndexOf(')');
            if (close < 0 || !int.TryParse(line.AsSpan(1, close - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int stated))
                return "bad pc prefix; expected (NNN)";
            if (stated != pc) return $"pc prefix ({stated}) does not match the instruction's position ({pc})";
            line = line[(close + 1)..].Trim();
        }
        var (mnemonic, rest) = SplitWord(line);
        if (mnemonic == ".raw") return Raw(rest, code);

        // Split off "jt N jf M" (conditional) or the target of "ja N".
        int? jt = null, jf = null;
        var words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        for (int i = words.Count - 2; i >= 0; i--)
        {
            if (words[i] is "jt" or "jf" && int.TryParse(words[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int t))
            {
                if (words[i] == "jt") jt = t; else jf = t;
                words.RemoveRange(i, 2);
            }
        }
        if (mnemonic == "ja")
        {
            if (words.Count != 1 || !int.TryParse(words[0], NumberStyles.None, CultureInfo.InvariantCulture, out int target))
                return "ja needs one absolute target: ja N";
            jt = target;
            words.Clear();
        }
        string operandText = string.Join(' ', words);
        var operands = operandText.Length == 0 ? [] : operandText.Split(',').Select(o => o.Trim()).ToArray();

        if (!InstructionSet.ByMnemonic.TryGetValue(mnemonic, out var rows))
            return $"unknown mnemonic '{mnemonic}'";
        string? firstError = null;
        foreach (var info in rows)
        {
            string? error = TryEncode(info, operands, jt, jf, pc, out var insn);
            if (error is null) { code.Add(insn); return null; }
            firstError ??= error;
        }
        return firstError;
    }

    private static string? TryEncode(OpInfo info, string[] operands, int? jt, int? jf, int pc, out Instruction insn)
    {
        insn = default;
        var slots = new[] { (Slot: 'A', Kind: info.A), (Slot: 'B', Kind: info.B), (Slot: 'I', Kind: info.Imm) }
            .Where(s => s.Kind != Operand.None).ToArray();
        if (operands.Length != slots.Length)
            return $"{info.Mnemonic} takes {slots.Length} operand(s) ({string.Join(", ", slots.Select(s => s.Kind))}), got {operands.Length}";
        byte a = 0, b = 0;
        ulong imm = 0;
        for (int i = 0; i < slots.Length; i++)
        {
            if (!TryOperand(slots[i].Kind, operands[i], out ulong value, out string why))
                return $"{info.Mnemonic} operand {i + 1}: {why}";
            if (slots[i].Slot == 'A') a = (byte)value;
            else if (slots[i].Slot == 'B') b = (byte)value;
            else imm = value;
        }
        ushort t = 0, f = 0;
        switch (info.Jump)
        {
            case JumpKind.Always:
                if (jt is null) return "ja needs a target";
                if (Offset(jt.Value, pc, out t) is { } e1) return e1;
                break;
            case JumpKind.Conditional or JumpKind.Switch:
                if (jt is null || jf is null) return $"{info.Mnemonic} needs both 'jt N' and 'jf N'";
                if ((Offset(jt.Value, pc, out t) ?? Offset(jf.Value, pc, out f)) is { } e2) return e2;
                break;
            default:
                if (jt is not null || jf is not null) return $"{info.Mnemonic} does not jump";
                break;
        }
        insn = new Instruction(info.Code, a, b, t, f, imm);
        return null;
    }

    private static string? Offset(int target, int pc, out ushort offset)
    {
        offset = 0;
        int delta = target - pc - 1;
        if (delta < 0) return $"jump target {target} is not after pc {pc}: jumps only go forward";
        if (delta > ushort.MaxValue) return $"jump target {target} is too far from pc {pc}";
        offset = (ushort)delta;
        return null;
    }

    private static bool TryOperand(Operand kind, string text, out ulong value, out string why)
    {
        value = 0;
        why = "";
        switch (kind)
        {
            case Operand.RegRead or Operand.RegWrite or Operand.RegReadWrite:
                if (text.Length > 1 && text[0] == 'r' && byte.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out byte reg))
                { value = reg; return true; }
                why = $"expected a register rN, got '{text}'";
                return false;
            case Operand.Field or Operand.StringField:
                if (text.Length > 2 && text[0] == '[' && text[^1] == ']')
                {
                    string inner = text[1..^1];
                    if (kind == Operand.Field && RecordLayout.ScalarNamed(inner) is { } f) { value = (ulong)f.Offset; return true; }
                    if (kind == Operand.StringField && RecordLayout.StringNamed(inner) is { } s) { value = (ulong)s.DescriptorOffset; return true; }
                    if (TryNumber(inner, out value) && (kind == Operand.Field || value <= byte.MaxValue)) return true;
                }
                why = $"expected a {(kind == Operand.Field ? "field" : "string field")} like [uid] or [offset], got '{text}'";
                return false;
            case Operand.Set or Operand.String:
                string prefix = kind == Operand.Set ? "set" : "str";
                if (text.StartsWith(prefix, StringComparison.Ordinal) && ulong.TryParse(text.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out value))
                    return true;
                why = $"expected {prefix}N, got '{text}'";
                return false;
            default:
                if (text.StartsWith('#') && TryNumber(text[1..], out value)) return true;
                why = $"expected an immediate #N, got '{text}'";
                return false;
        }
    }

    private static string? Raw(string rest, List<Instruction> code)
    {
        var parts = rest.Split(',').Select(p => p.Trim()).ToArray();
        if (parts.Length != 7) return ".raw needs 7 fields: opcode, a, b, reserved, jt, jf, imm";
        var v = new ulong[7];
        ulong[] max = [255, 255, 255, 255, 65535, 65535, ulong.MaxValue];
        for (int i = 0; i < 7; i++)
            if (!TryNumber(parts[i], out v[i]) || v[i] > max[i]) return $".raw field {i + 1} '{parts[i]}' is not a number up to {max[i]}";
        code.Add(new Instruction((OpCode)v[0], (byte)v[1], (byte)v[2], (ushort)v[4], (ushort)v[5], v[6], (byte)v[3]));
        return null;
    }

    /// <summary>Decimal, 0x hex, or negative decimal (two's complement).</summary>
    public static bool TryNumber(string text, out ulong value)
    {
        text = text.Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        if (text.StartsWith('-'))
        {
            bool ok = long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long signed);
            value = (ulong)signed;
            return ok;
        }
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static (string Word, string Remainder) SplitWord(string text)
    {
        text = text.Trim();
        int space = text.IndexOfAny([' ', '\t']);
        return space < 0 ? (text, "") : (text[..space], text[(space + 1)..].Trim());
    }

    private static bool TryUnquote(string text, out byte[] bytes, out string? error)
    {
        bytes = [];
        error = null;
        if (text.Length < 2 || text[0] != '"' || text[^1] != '"') { error = $"expected a quoted string, got '{text}'"; return false; }
        var result = new List<byte>();
        for (int i = 1; i < text.Length - 1; i++)
        {
            char c = text[i];
            if (c != '\\')
            {
                int width = char.IsHighSurrogate(c) && i + 1 < text.Length - 1 ? 2 : 1;
                result.AddRange(Encoding.UTF8.GetBytes(text.Substring(i, width)));
                i += width - 1;
                continue;
            }
            if (++i >= text.Length - 1) { error = "string ends in a lone backslash"; return false; }
            switch (text[i])
            {
                case '\\': result.Add((byte)'\\'); break;
                case '"': result.Add((byte)'"'); break;
                case 'n': result.Add((byte)'\n'); break;
                case 't': result.Add((byte)'\t'); break;
                case 'x' when i + 2 < text.Length - 1 && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte hex):
                    result.Add(hex);
                    i += 2;
                    break;
                default: error = $"unknown escape '\\{text[i]}'"; return false;
            }
        }
        bytes = result.ToArray();
        return true;
    }
}
