using System.Collections.Frozen;

namespace Filter.VM;

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
}

/// <summary>One row of the instruction table.</summary>
/// <param name="A">Slot A (byte 1), usually the destination register.</param>
/// <param name="B">Slot B (byte 2), usually the source register.</param>
/// <param name="Imm">What the 64-bit immediate holds.</param>
/// <param name="LoadSize">For loads, the bytes read.</param>
public sealed record OpInfo(OpCode Code, string Mnemonic, Operand A, Operand B, Operand Imm, JumpKind Jump, int LoadSize = 0, string Summary = "");

/// <summary>
/// The instruction set, defined once: every consumer (code generator, verifier, interpreter, JIT,
/// assembler, disassembler) looks opcodes up here, and tests check that each consumer handles every row.
/// </summary>
public static class InstructionSet
{
    public const int RegisterCount = 16;
    public const int InstructionSize = 16;
    public const int MaxInstructions = 4096;

    private const Operand R = Operand.RegRead, W = Operand.RegWrite, RW = Operand.RegReadWrite, K = Operand.Imm, _ = Operand.None;

    public static readonly IReadOnlyList<OpInfo> All =
    [
        new(OpCode.Ret, "ret", _, _, Operand.Verdict, JumpKind.Return, Summary: "return the verdict imm"),

        new(OpCode.Ldb, "ldb", W, _, Operand.Field, JumpKind.None, 1, "a = zero-extended u8 field"),
        new(OpCode.Ldw, "ldw", W, _, Operand.Field, JumpKind.None, 4, "a = zero-extended u32 field"),
        new(OpCode.Lddw, "lddw", W, _, Operand.Field, JumpKind.None, 8, "a = 64-bit field"),

        new(OpCode.MovK, "mov", W, _, K, JumpKind.None, Summary: "a = imm"),
        new(OpCode.MovX, "mov", W, R, _, JumpKind.None, Summary: "a = b"),
        new(OpCode.AddK, "add", RW, _, K, JumpKind.None, Summary: "a += imm (wraps)"),
        new(OpCode.AddX, "add", RW, R, _, JumpKind.None, Summary: "a += b (wraps)"),
        new(OpCode.SubK, "sub", RW, _, K, JumpKind.None, Summary: "a -= imm (wraps)"),
        new(OpCode.SubX, "sub", RW, R, _, JumpKind.None, Summary: "a -= b (wraps)"),
        new(OpCode.AndK, "and", RW, _, K, JumpKind.None, Summary: "a &= imm"),
        new(OpCode.AndX, "and", RW, R, _, JumpKind.None, Summary: "a &= b"),
        new(OpCode.OrK, "or", RW, _, K, JumpKind.None, Summary: "a |= imm"),
        new(OpCode.OrX, "or", RW, R, _, JumpKind.None, Summary: "a |= b"),
        new(OpCode.XorK, "xor", RW, _, K, JumpKind.None, Summary: "a ^= imm"),
        new(OpCode.XorX, "xor", RW, R, _, JumpKind.None, Summary: "a ^= b"),
        new(OpCode.LshK, "lsh", RW, _, K, JumpKind.None, Summary: "a <<= imm; 0 when imm >= 64"),
        new(OpCode.LshX, "lsh", RW, R, _, JumpKind.None, Summary: "a <<= b; 0 when b >= 64"),
        new(OpCode.RshK, "rsh", RW, _, K, JumpKind.None, Summary: "logical a >>= imm; 0 when imm >= 64"),
        new(OpCode.RshX, "rsh", RW, R, _, JumpKind.None, Summary: "logical a >>= b; 0 when b >= 64"),
        new(OpCode.ArshK, "arsh", RW, _, K, JumpKind.None, Summary: "arithmetic a >>= imm; sign fill when imm >= 64"),
        new(OpCode.ArshX, "arsh", RW, R, _, JumpKind.None, Summary: "arithmetic a >>= b; sign fill when b >= 64"),
        new(OpCode.Neg, "neg", RW, _, _, JumpKind.None, Summary: "a = -a (wraps)"),
        new(OpCode.Not, "not", RW, _, _, JumpKind.None, Summary: "a = ~a"),

        new(OpCode.Ja, "ja", _, _, _, JumpKind.Always, Summary: "jump to jt"),
        new(OpCode.JeqK, "jeq", R, _, K, JumpKind.Conditional, Summary: "a == imm"),
        new(OpCode.JeqX, "jeq", R, R, _, JumpKind.Conditional, Summary: "a == b"),
        new(OpCode.JgtK, "jgt", R, _, K, JumpKind.Conditional, Summary: "a > imm, unsigned"),
        new(OpCode.JgtX, "jgt", R, R, _, JumpKind.Conditional, Summary: "a > b, unsigned"),
        new(OpCode.JgeK, "jge", R, _, K, JumpKind.Conditional, Summary: "a >= imm, unsigned"),
        new(OpCode.JgeX, "jge", R, R, _, JumpKind.Conditional, Summary: "a >= b, unsigned"),
        new(OpCode.JsgtK, "jsgt", R, _, K, JumpKind.Conditional, Summary: "a > imm, signed"),
        new(OpCode.JsgtX, "jsgt", R, R, _, JumpKind.Conditional, Summary: "a > b, signed"),
        new(OpCode.JsgeK, "jsge", R, _, K, JumpKind.Conditional, Summary: "a >= imm, signed"),
        new(OpCode.JsgeX, "jsge", R, R, _, JumpKind.Conditional, Summary: "a >= b, signed"),
        new(OpCode.JsetK, "jset", R, _, K, JumpKind.Conditional, Summary: "(a & imm) != 0"),
        new(OpCode.JsetX, "jset", R, R, _, JumpKind.Conditional, Summary: "(a & b) != 0"),
        new(OpCode.Jin, "jin", R, _, Operand.Set, JumpKind.Conditional, Summary: "a is in set imm"),
        new(OpCode.JstrEq, "jstreq", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a equals string imm"),
        new(OpCode.JstrPrefix, "jstrpfx", Operand.StringField, _, Operand.String, JumpKind.Conditional, Summary: "string field a starts with string imm"),
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
    public static readonly FrozenDictionary<string, OpInfo[]> ByMnemonic =
        All.GroupBy(i => i.Mnemonic).ToFrozenDictionary(g => g.Key, g => g.ToArray());
}
