
namespace Filter.Compiler.Binding;

/// <summary>
/// Integer arithmetic as the language defines it (64-bit two's complement, wrap-around, mathematical
/// shifts), used by constant folding and the reference evaluator. The engines implement the same
/// operations with opcodes whose shift semantics come from <see cref="Semantics"/>.
/// </summary>
public static class IntOps
{
    public static ulong Unary(IntUnaryOp op, ulong value) => op switch
    {
        IntUnaryOp.Negate => 0 - value,
        IntUnaryOp.BitNot => ~value,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static ulong Binary(IntBinaryOp op, ulong left, ulong right, bool signed) => op switch
    {
        IntBinaryOp.Add => left + right,
        IntBinaryOp.Subtract => left - right,
        IntBinaryOp.ShiftLeft => Semantics.Lsh(left, right),
        IntBinaryOp.ShiftRight => signed ? Semantics.Arsh(left, right) : Semantics.Rsh(left, right),
        IntBinaryOp.BitAnd => left & right,
        IntBinaryOp.BitXor => left ^ right,
        IntBinaryOp.BitOr => left | right,
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static bool Compare(CompareOp op, ulong left, ulong right, bool signed)
    {
        int c = signed ? ((long)left).CompareTo((long)right) : left.CompareTo(right);
        return op switch
        {
            CompareOp.Equal => c == 0,
            CompareOp.NotEqual => c != 0,
            CompareOp.Less => c < 0,
            CompareOp.LessEqual => c <= 0,
            CompareOp.Greater => c > 0,
            CompareOp.GreaterEqual => c >= 0,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }
}
