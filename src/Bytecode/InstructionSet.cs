using System.Collections.Frozen;

namespace Filter.Bytecode;

/// <summary>What an instruction's slot holds; drives the verifier, assembler and disassembler.</summary>
public enum Operand : byte
{
    None,
    /// <summary>A register the instruction reads (must be initialised on every path).</summary>
    RegRead,
    /// <summary>A register the instruction writes.</summary>
    RegWrite,
    /// <summary>A register the instruction reads and writes.</summary>
    RegReadWrite,
    /// <summary>A 64-bit immediate.</summary>
    Imm,
    /// <summary>The byte offset of a scalar header field whose size is the opcode's load size.</summary>
    Field,
    /// <summary>The header offset of a string field's descriptor.</summary>
    StringField,
    /// <summary>An index into the program's set table.</summary>
    Set,
    /// <summary>An index into the program's string table.</summary>
    String,
    /// <summary>A verdict: 0 (no match) or a rule number 1..VerdictCount.</summary>
    Verdict,
}

public enum JumpKind : byte
{
    /// <summary>Falls through to the next instruction.</summary>
    None,
    /// <summary>Ends the program.</summary>
    Return,
    /// <summary>Unconditional: jt only.</summary>
    Always,
    /// <summary>jt when the condition holds, jf otherwise.</summary>
    Conditional,
    /// <summary>
    /// A jump table: to jt + i (pc + 1 + jt + i) when the register lies in range i of the set (its cases, one
    /// target each, consecutive from jt), to jf when it lies in none.
    /// </summary>
    Switch,
}

/// <summary>One row of the instruction table.</summary>
/// <param name="A">Slot A (byte 1), usually the destination register.</param>
/// <param name="B">Slot B (byte 2), usually the source register.</param>
/// <param name="Imm">What the 64-bit immediate holds.</param>
/// <param name="LoadSize">For loads, the bytes read.</param>
/// <param name="Signed">The operands are compared as signed 64-bit values (the immediate is shown signed).</param>
/// <param name="Sibling">For an operation with both forms, the other one: the X form of a K form and back.</param>
public sealed record OpInfo(OpCode Code, string Mnemonic, Operand A, Operand B, Operand Imm, JumpKind Jump,
    int LoadSize = 0, bool Signed = false, OpCode? Sibling = null, string Summary = "")
{
    /// <summary>The second operand is the immediate (a K form).</summary>
    public bool IsK => Imm == Operand.Imm;
    /// <summary>The second operand is register B (an X form).</summary>
    public bool IsX => B == Operand.RegRead;
}

/// <summary>
/// The instruction set, defined once: every consumer (code generator, verifier, interpreter, JIT,
/// assembler, disassembler, analyses, the kernel translator) looks opcodes up here. Consumers that need
/// code per opcode write it as a switch expression over <see cref="OpCode"/> with no default arm, so a new
/// opcode without a case is a compile error (CS8509), as the kernel's BPF_INSN_MAP makes it one.
/// </summary>
public static class InstructionSet
{
    public const int RegisterCount = 16;
    public const int InstructionSize = 16;
    /// <summary>
    /// The most instructions a program may have: every forward jump is then expressible in the 16-bit offsets.
    /// The verifier bounds the run by the longest path, which is what a run costs (spec/limits.md).
    /// </summary>
    public const int MaxInstructions = 65536;

    private const Operand R = Operand.RegRead, W = Operand.RegWrite, RW = Operand.RegReadWrite, K = Operand.Imm, _ = Operand.None;

    public static readonly IReadOnlyList<OpInfo> All =
    [
        new(OpCode.Ret, "ret", _, _, Operand.Verdict, JumpKind.Return, Summary: "return the verdict imm"),

        new(OpCode.Ldb, "ldb", W, _, Operand.Field, JumpKind.None, LoadSize: 1, Summary: "a = zero-extended u8 field"),
        new(OpCode.Ldw, "ldw", W, _, Operand.Field, JumpKind.None, LoadSize: 4, Summary: "a = zero-extended u32 field"),
        new(OpCode.Lddw, "lddw", W, _, Operand.Field, JumpKind.None, LoadSize: 8, Summary: "a = 64-bit field"),

        .. Alu(OpCode.MovK, OpCode.MovX, "mov", W, "a = {0}"),
        .. Alu(OpCode.AddK, OpCode.AddX, "add", RW, "a += {0} (wraps)"),
        .. Alu(OpCode.SubK, OpCode.SubX, "sub", RW, "a -= {0} (wraps)"),
        .. Alu(OpCode.AndK, OpCode.AndX, "and", RW, "a &= {0}"),
        .. Alu(OpCode.OrK, OpCode.OrX, "or", RW, "a |= {0}"),
        .. Alu(OpCode.XorK, OpCode.XorX, "xor", RW, "a ^= {0}"),
        .. Alu(OpCode.LshK, OpCode.LshX, "lsh", RW, "a <<= {0}; 0 when {0} >= 64"),
        .. Alu(OpCode.RshK, OpCode.RshX, "rsh", RW, "logical a >>= {0}; 0 when {0} >= 64"),
        .. Alu(OpCode.ArshK, OpCode.ArshX, "arsh", RW, "arithmetic a >>= {0}; sign fill when {0} >= 64"),
        new(OpCode.Neg, "neg", RW, _, _, JumpKind.None, Summary: "a = -a (wraps)"),
        new(OpCode.Not, "not", RW, _, _, JumpKind.None, Summary: "a = ~a"),

        new(OpCode.Ja, "ja", _, _, _, JumpKind.Always, Summary: "jump to jt"),
        .. Compare(OpCode.JeqK, OpCode.JeqX, "jeq", "a == {0}"),
        .. Compare(OpCode.JgtK, OpCode.JgtX, "jgt", "a > {0}, unsigned"),
        .. Compare(OpCode.JgeK, OpCode.JgeX, "jge", "a >= {0}, unsigned"),
        .. Compare(OpCode.JsgtK, OpCode.JsgtX, "jsgt", "a > {0}, signed", signed: true),
        .. Compare(OpCode.JsgeK, OpCode.JsgeX, "jsge", "a >= {0}, signed", signed: true),
        .. Compare(OpCode.JsetK, OpCode.JsetX, "jset", "(a & {0}) != 0"),
        new(OpCode.Jin, "jin", R, _, Operand.Set, JumpKind.Conditional, Summary: "a is in set imm"),
        new(OpCode.JstrEq, "jstreq", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a equals string imm"),
        new(OpCode.JstrPrefix, "jstrpfx", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a starts with string imm"),
        new(OpCode.JstrSuffix, "jstrsfx", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a ends with string imm"),
        new(OpCode.JstrContains, "jstrsub", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a contains string imm"),
        new(OpCode.Jswitch, "jswitch", R, _, Operand.Set, JumpKind.Switch, Summary: "to jt + i when a is in range i of set imm, else to jf"),
    ];

    /// <summary>An operation in its two forms: with the immediate (K) and with register B (X).</summary>
    private static OpInfo[] Alu(OpCode k, OpCode x, string mnemonic, Operand a, string summary) =>
    [
        new(k, mnemonic, a, _, K, JumpKind.None, Sibling: x, Summary: string.Format(summary, "imm")),
        new(x, mnemonic, a, R, _, JumpKind.None, Sibling: k, Summary: string.Format(summary, "b")),
    ];

    private static OpInfo[] Compare(OpCode k, OpCode x, string mnemonic, string summary, bool signed = false) =>
    [
        new(k, mnemonic, R, _, K, JumpKind.Conditional, Signed: signed, Sibling: x, Summary: string.Format(summary, "imm")),
        new(x, mnemonic, R, R, _, JumpKind.Conditional, Signed: signed, Sibling: k, Summary: string.Format(summary, "b")),
    ];

    private static readonly OpInfo?[] ByCode = BuildIndex();

    private static OpInfo?[] BuildIndex()
    {
        var index = new OpInfo?[256];
        foreach (var info in All)
        {
            if (index[(byte)info.Code] is not null) throw new InvalidOperationException($"opcode {info.Code} listed twice");
            index[(byte)info.Code] = info;
        }
        return index;
    }

    /// <summary>The row for an opcode byte, or null if the byte is not an opcode.</summary>
    public static OpInfo? Lookup(byte code) => ByCode[code];

    public static OpInfo Get(OpCode code) => ByCode[(byte)code] ?? throw new ArgumentOutOfRangeException(nameof(code));

    /// <summary>Rows by mnemonic: the assembler picks the row whose operand shapes match the text.</summary>
    public static FrozenDictionary<string, OpInfo[]> ByMnemonic => Mnemonics.Table;

    // Built on the assembler's first use, not in every process that runs a program.
    private static class Mnemonics
    {
        public static readonly FrozenDictionary<string, OpInfo[]> Table =
            All.GroupBy(i => i.Mnemonic).ToFrozenDictionary(g => g.Key, g => g.ToArray());
    }
}
