
namespace Filter.Compiler.Binding;

/// <summary>
/// The bound tree: names resolved, types checked, constants folded, literals typed. It is the
/// language's meaning: the code generator compiles it and the reference evaluator interprets it.
/// </summary>
public abstract record BoundNode(TextSpan Span);

// ---- integer expressions: 64-bit values, signed or unsigned ----

public abstract record BoundInt(bool Signed, TextSpan Span) : BoundNode(Span);

/// <summary>
/// An integer constant. <paramref name="IsLiteral"/> marks a constant not yet tied to a field's type:
/// it adopts the type of the other operand (spec/language.md, "Types").
/// </summary>
public sealed record BoundIntConst(ulong Value, bool Signed, bool IsLiteral, TextSpan Span) : BoundInt(Signed, Span);

public sealed record BoundFieldLoad(ScalarField Field, TextSpan Span) : BoundInt(Field.IsSigned, Span);

/// <summary>The integer operations with one operand (the syntax's <c>-</c> and <c>~</c>).</summary>
public enum IntUnaryOp { Negate, BitNot }

/// <summary>The integer operations with two operands; <see cref="ShiftRight"/> is arithmetic on a signed operand.</summary>
public enum IntBinaryOp { Add, Subtract, ShiftLeft, ShiftRight, BitAnd, BitXor, BitOr }

public sealed record BoundUnaryInt(IntUnaryOp Op, BoundInt Operand, bool Signed, TextSpan Span) : BoundInt(Signed, Span);

public sealed record BoundBinaryInt(IntBinaryOp Op, BoundInt Left, BoundInt Right, bool Signed, TextSpan Span) : BoundInt(Signed, Span);

// ---- boolean expressions ----

public abstract record BoundBool(TextSpan Span) : BoundNode(Span);

public sealed record BoundBoolConst(bool Value, TextSpan Span) : BoundBool(Span);

/// <summary>A boolean field (<c>success</c>): true when its byte is non-zero.</summary>
public sealed record BoundBoolField(ScalarField Field, TextSpan Span) : BoundBool(Span);

public sealed record BoundNot(BoundBool Operand, TextSpan Span) : BoundBool(Span);

public sealed record BoundLogical(bool IsAnd, IReadOnlyList<BoundBool> Operands, TextSpan Span) : BoundBool(Span);

public enum CompareOp { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual }

public static class CompareOps
{
    /// <summary>The comparison with its operands swapped: <c>a &lt; b</c> is <c>b &gt; a</c>.</summary>
    public static CompareOp Mirrored(this CompareOp op) => op switch
    {
        CompareOp.Less => CompareOp.Greater,
        CompareOp.LessEqual => CompareOp.GreaterEqual,
        CompareOp.Greater => CompareOp.Less,
        CompareOp.GreaterEqual => CompareOp.LessEqual,
        _ => op,
    };
}

/// <summary>An integer comparison; <paramref name="Signed"/> is false if either operand is unsigned.</summary>
public sealed record BoundCompare(CompareOp Op, BoundInt Left, BoundInt Right, bool Signed, TextSpan Span) : BoundBool(Span);

/// <summary><c>a == b</c> on booleans.</summary>
public sealed record BoundBoolEquals(BoundBool Left, BoundBool Right, TextSpan Span) : BoundBool(Span);

/// <summary>Membership of an integer in a constant set (ordered as the value's signedness says).</summary>
public sealed record BoundInSet(BoundInt Value, ValueSet Set, TextSpan Span) : BoundBool(Span);

/// <summary>
/// Membership of the record's syscall number in a set that depends on the record's arch, because
/// syscall names mean different numbers on different architectures. <paramref name="PerArch"/> is
/// indexed like <see cref="AuditArch.All"/>; <paramref name="OtherArch"/> applies to any other arch (only
/// numbers written as numbers). A null set matches nothing.
/// </summary>
public sealed record BoundSyscallIn(IReadOnlyList<ValueSet?> PerArch, ValueSet? OtherArch, TextSpan Span) : BoundBool(Span);

public enum StringTestOp { Equal, StartsWith, EndsWith, Contains }

public static class StringTestOps
{
    /// <summary>The instruction that makes the test (jstreq, jstrpfx, jstrsfx, jstrsub).</summary>
    public static OpCode Instruction(this StringTestOp op) => op switch
    {
        StringTestOp.Equal => OpCode.JstrEq,
        StringTestOp.StartsWith => OpCode.JstrPrefix,
        StringTestOp.EndsWith => OpCode.JstrSuffix,
        _ => OpCode.JstrContains,
    };

    /// <summary>Whether the test holds for <paramref name="value"/>: the engines' own definition (<see cref="Semantics.StringTest"/>).</summary>
    public static bool Holds(this StringTestOp op, ReadOnlySpan<byte> value, ReadOnlySpan<byte> constant) =>
        Semantics.StringTest(op.Instruction(), value, constant);
}

/// <summary>A test of one string field against a constant (the field on the left).</summary>
public sealed record BoundStringTest(StringField Field, StringTestOp Op, byte[] Value, TextSpan Span) : BoundBool(Span);
