namespace Filter.Verifier;

/// <summary>
/// Decides whether bytecode is safe to run, trusting nothing about where it came from. One forward
/// pass suffices because jump offsets are unsigned: every edge goes from a lower pc to a higher one, so
/// when the pass reaches an instruction it has already seen every edge into it. A program that passes
/// executes at most one instruction per pc (at most N for N instructions), reads only whole header
/// fields and in-range constants, reads only registers written on every path, and ends in a return.
/// </summary>
public static class Verifier
{
    /// <summary>
    /// Decodes and checks <paramref name="bytes"/>. The program made from them holds copies (the decoded
    /// image and the bytes), so nothing the caller does to its buffer afterwards can reach it.
    /// </summary>
    public static VerifyResult Verify(ReadOnlySpan<byte> bytes) => Verify(bytes, null);

    /// <summary>Encodes and verifies an image (the code generator's and assembler's output).</summary>
    public static VerifyResult Verify(ProgramImage image)
    {
        var bytes = image.Encode();
        return Verify(bytes, bytes);
    }

    /// <param name="own">The bytes themselves when they are this verifier's own (no copy needed), else null.</param>
    private static VerifyResult Verify(ReadOnlySpan<byte> bytes, byte[]? own)
    {
        if (!ProgramImage.TryDecode(bytes, out var image, out string formatError))
            return Fail(DiagnosticCode.Format, -1, formatError);
        int maxPath = 0;
        var error = CheckConstants(image) ?? CheckKeys(image) ?? CheckCode(image, out maxPath);
        if (error is not null) return new VerifyResult(null, error);
        return new VerifyResult(new VerifiedProgram(image, own ?? bytes.ToArray(), maxPath), null);
    }

    private static VerifyResult Fail(DiagnosticCode rule, int pc, string message) => new(null, Error(rule, pc, message));

    private static Diagnostic Error(DiagnosticCode rule, int pc, string message) => new(rule, DiagnosticLocation.Instruction(pc), message);

    private static Diagnostic? CheckConstants(ProgramImage image)
    {
        if (image.Sets.Count > ProgramLimits.MaxSets)
            return Error(DiagnosticCode.SetConstant, -1, $"{image.Sets.Count} sets; at most {ProgramLimits.MaxSets} are allowed");
        for (int s = 0; s < image.Sets.Count; s++)
        {
            var set = image.Sets[s];
            if (set.Ranges.Count == 0)
                return Error(DiagnosticCode.SetConstant, -1, $"set {s} is empty");
            if (set.Ranges.Count > ProgramLimits.MaxRangesPerSet)
                return Error(DiagnosticCode.SetConstant, -1, $"set {s} has {set.Ranges.Count} ranges; at most {ProgramLimits.MaxRangesPerSet} are allowed");
            if (!set.IsCanonical(out int bad))
                return Error(DiagnosticCode.SetConstant, -1, $"set {s}: range {bad} is empty, out of order or overlaps the one before it");
        }
        if (image.Strings.Count > ProgramLimits.MaxStrings)
            return Error(DiagnosticCode.StringConstant, -1, $"{image.Strings.Count} strings; at most {ProgramLimits.MaxStrings} are allowed");
        for (int s = 0; s < image.Strings.Count; s++)
            if (image.Strings[s].Length > ProgramLimits.MaxStringLength)
                return Error(DiagnosticCode.StringConstant, -1, $"string {s} is {image.Strings[s].Length} bytes; at most {ProgramLimits.MaxStringLength} are allowed");
        if (image.Keys.Count > ProgramLimits.MaxVerdicts)
            return Error(DiagnosticCode.VerdictRange, -1, $"{image.Keys.Count} verdicts; at most {ProgramLimits.MaxVerdicts} are allowed");
        for (int k = 0; k < image.Keys.Count; k++)
            if (System.Text.Encoding.UTF8.GetByteCount(image.Keys[k]) > ProgramLimits.MaxKeyLength)
                return Error(DiagnosticCode.StringConstant, -1, $"key of verdict {k + 1} is longer than {ProgramLimits.MaxKeyLength} bytes");
        return null;
    }

    /// <summary>Keys are what the compiler lets a rule key be (FLT0304): a hand-made program must not print a forged line.</summary>
    private static Diagnostic? CheckKeys(ProgramImage image)
    {
        for (int k = 0; k < image.Keys.Count; k++)
            if (ProgramKeys.FirstForbidden(image.Keys[k]) is var at and >= 0)
                return Error(DiagnosticCode.KeyText, -1, $"key of verdict {k + 1} holds U+{(int)image.Keys[k][at]:X4} at character {at}; keys hold no control character but \\x01");
        return null;
    }

    private static Diagnostic? CheckCode(ProgramImage image, out int maxPath)
    {
        maxPath = 0;
        var code = image.Code;
        int n = code.Count;
        if (n == 0) return Error(DiagnosticCode.Length, -1, "the program has no instructions");
        if (n > InstructionSet.MaxInstructions)
            return Error(DiagnosticCode.Length, -1, $"the program has {n} instructions; at most {InstructionSet.MaxInstructions} are allowed");

        // Registers definitely written on entry to each pc (a bit per register), and whether any edge reaches it.
        var initialised = new ushort[n];
        var reached = new bool[n];
        reached[0] = true;
        for (int pc = 0; pc < n; pc++)
        {
            var insn = code[pc];
            if (!reached[pc])
                return Error(DiagnosticCode.Reachable, pc, "instruction is unreachable: no path from pc 0 leads here");
            if (InstructionSet.Lookup((byte)insn.Op) is not { } info)
                return Error(DiagnosticCode.KnownOpcode, pc, $"unknown opcode 0x{(byte)insn.Op:x2}");
            var error = CheckOperands(image, pc, insn, info);
            if (error is not null) return error;

            ushort live = initialised[pc];
            foreach (var (slot, value) in new[] { (info.A, insn.A), (info.B, insn.B) })
            {
                if (slot is Operand.RegRead or Operand.RegReadWrite && (live & (1 << value)) == 0)
                    return Error(DiagnosticCode.InitialisedRegister, pc, $"r{value} is read before it is written on some path to this instruction");
            }
            if (info.A is Operand.RegWrite or Operand.RegReadWrite) live |= (ushort)(1 << insn.A);

            switch (info.Jump)
            {
                case JumpKind.Return:
                    break;
                case JumpKind.None:
                    if (pc + 1 == n)
                        return Error(DiagnosticCode.EndsInReturn, pc, "the last instruction falls through past the end of the program");
                    Flow(pc + 1);
                    break;
                case JumpKind.Always:
                    if (Target(insn.Jt) is { } e1) return e1;
                    Flow(insn.TrueTarget(pc));
                    break;
                case JumpKind.Conditional:
                    if ((Target(insn.Jt) ?? Target(insn.Jf)) is { } e2) return e2;
                    Flow(insn.TrueTarget(pc));
                    Flow(insn.FalseTarget(pc));
                    break;
                case JumpKind.Switch:
                    // One target per range of the set, consecutive from jt: the last must be inside the program.
                    int cases = image.Sets[(int)insn.Imm].Ranges.Count;
                    if ((Target(insn.Jt + cases - 1) ?? Target(insn.Jf)) is { } e3)
                        return e3;
                    for (int c = 0; c < cases; c++) Flow(insn.TrueTarget(pc) + c);
                    Flow(insn.FalseTarget(pc));
                    break;
            }

            Diagnostic? Target(int offset) =>
                pc + 1 + offset < n ? null
                : Error(DiagnosticCode.JumpInRange, pc, $"jump target {pc + 1 + offset} is past the end ({n} instructions)");

            void Flow(int to)
            {
                initialised[to] = reached[to] ? (ushort)(initialised[to] & live) : live;
                reached[to] = true;
            }
        }
        maxPath = LongestPath(code, image.Sets);
        return null;
    }

    private static Diagnostic? CheckOperands(ProgramImage image, int pc, Instruction insn, OpInfo info)
    {
        if (insn.Reserved != 0)
            return Error(DiagnosticCode.UnusedZero, pc, $"reserved byte is 0x{insn.Reserved:x2}, must be 0");
        foreach (var (slot, value, name) in new[] { (info.A, insn.A, "slot A"), (info.B, insn.B, "slot B") })
        {
            switch (slot)
            {
                case Operand.None when value != 0:
                    return Error(DiagnosticCode.UnusedZero, pc, $"{info.Mnemonic} does not use {name}, which must be 0 (is {value})");
                case Operand.RegRead or Operand.RegWrite or Operand.RegReadWrite when value >= InstructionSet.RegisterCount:
                    return Error(DiagnosticCode.RegisterRange, pc, $"register r{value} does not exist (r0..r{InstructionSet.RegisterCount - 1})");
                case Operand.StringField when RecordLayout.StringAt(value) is null:
                    return Error(DiagnosticCode.StringField, pc, $"offset {value} is not a string field descriptor");
            }
        }
        switch (info.Imm)
        {
            case Operand.None when insn.Imm != 0:
                return Error(DiagnosticCode.UnusedZero, pc, $"{info.Mnemonic} does not use imm, which must be 0 (is {insn.Imm})");
            case Operand.Field:
                var field = RecordLayout.ScalarAt((long)Math.Min(insn.Imm, long.MaxValue));
                if (field is null || field.Size != info.LoadSize)
                    return Error(DiagnosticCode.FieldLoad, pc,
                        field is null ? $"{info.Mnemonic} at offset {insn.Imm}: no record field starts there"
                                      : $"{info.Mnemonic} reads {info.LoadSize} bytes but field '{field.Name}' at offset {insn.Imm} is {field.Size} bytes");
                break;
            case Operand.Set when insn.Imm >= (ulong)image.Sets.Count:
                return Error(DiagnosticCode.ConstantIndex, pc, $"set {insn.Imm} does not exist ({image.Sets.Count} sets)");
            case Operand.String when insn.Imm >= (ulong)image.Strings.Count:
                return Error(DiagnosticCode.ConstantIndex, pc, $"string {insn.Imm} does not exist ({image.Strings.Count} strings)");
            case Operand.Verdict when insn.Imm > (ulong)image.VerdictCount:
                return Error(DiagnosticCode.VerdictRange, pc, $"verdict {insn.Imm} is out of range (0..{image.VerdictCount})");
        }
        bool usesJt = info.Jump is JumpKind.Always or JumpKind.Conditional or JumpKind.Switch, usesJf = info.Jump is JumpKind.Conditional or JumpKind.Switch;
        if ((!usesJt && insn.Jt != 0) || (!usesJf && insn.Jf != 0))
            return Error(DiagnosticCode.UnusedZero, pc, $"{info.Mnemonic} does not jump; its unused jump offsets must be 0");
        return null;
    }

    /// <summary>The most instructions a run can execute: the longest path in the (acyclic) flow graph.</summary>
    private static int LongestPath(IReadOnlyList<Instruction> code, IReadOnlyList<ValueSet> sets)
    {
        var longest = new int[code.Count];
        for (int pc = code.Count - 1; pc >= 0; pc--)
        {
            var insn = code[pc];
            longest[pc] = 1 + InstructionSet.Get(insn.Op).Jump switch
            {
                JumpKind.Return => 0,
                JumpKind.None => longest[pc + 1],
                JumpKind.Always => longest[insn.TrueTarget(pc)],
                JumpKind.Conditional => Math.Max(longest[insn.TrueTarget(pc)], longest[insn.FalseTarget(pc)]),
                _ => Math.Max(longest[insn.FalseTarget(pc)], Max(longest.AsSpan(insn.TrueTarget(pc), sets[(int)insn.Imm].Ranges.Count))),
            };
        }
        return longest[0];
    }

    private static int Max(ReadOnlySpan<int> values)
    {
        int max = 0;
        foreach (int v in values) max = Math.Max(max, v);
        return max;
    }
}

/// <summary>Either a program that may run, or the reason it may not.</summary>
public sealed record VerifyResult(VerifiedProgram? Program, Diagnostic? Error)
{
    public bool Ok => Program is not null;
}
