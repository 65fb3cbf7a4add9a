using System.Runtime.CompilerServices;

namespace Filter.Bytecode;

/// <summary>
/// The operations whose meaning is more than one C# operator, shared by every engine (the JIT calls
/// these too) so that they cannot disagree. Shifts are mathematical: by 64 or more, a logical shift
/// gives 0 and an arithmetic one the sign fill (C# would mask the count to 6 bits).
/// </summary>
public static class Semantics
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Lsh(ulong value, ulong count) => count >= 64 ? 0 : value << (int)count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Rsh(ulong value, ulong count) => count >= 64 ? 0 : value >> (int)count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Arsh(ulong value, ulong count) => (ulong)((long)value >> (int)Math.Min(count, 63));

    /// <summary>Whether the comparison <paramref name="op"/> (jeq, jgt, jge, jsgt, jsge, jset; K or X) holds for a and b.</summary>
    public static bool Compare(OpCode op, ulong a, ulong b) => op switch
    {
        OpCode.JeqK or OpCode.JeqX => a == b,
        OpCode.JgtK or OpCode.JgtX => a > b,
        OpCode.JgeK or OpCode.JgeX => a >= b,
        OpCode.JsgtK or OpCode.JsgtX => (long)a > (long)b,
        OpCode.JsgeK or OpCode.JsgeX => (long)a >= (long)b,
        OpCode.JsetK or OpCode.JsetX => (a & b) != 0,
        OpCode.Ret or OpCode.Ldb or OpCode.Ldw or OpCode.Lddw or OpCode.MovK or OpCode.MovX or OpCode.AddK or OpCode.AddX
            or OpCode.SubK or OpCode.SubX or OpCode.AndK or OpCode.AndX or OpCode.OrK or OpCode.OrX or OpCode.XorK or OpCode.XorX
            or OpCode.LshK or OpCode.LshX or OpCode.RshK or OpCode.RshX or OpCode.ArshK or OpCode.ArshX or OpCode.Neg or OpCode.Not
            or OpCode.Ja or OpCode.Jin or OpCode.JstrEq or OpCode.JstrPrefix or OpCode.JstrSuffix or OpCode.JstrContains or OpCode.Jswitch
            => throw new ArgumentOutOfRangeException(nameof(op), op, "not a comparison of two values"),
    };

    /// <summary>
    /// The result of the ALU instruction <paramref name="op"/> on register a and operand b (the immediate or
    /// register B; ignored by neg and not), as every engine computes it.
    /// </summary>
    public static ulong Alu(OpCode op, ulong a, ulong b) => op switch
    {
        OpCode.MovK or OpCode.MovX => b,
        OpCode.AddK or OpCode.AddX => a + b,
        OpCode.SubK or OpCode.SubX => a - b,
        OpCode.AndK or OpCode.AndX => a & b,
        OpCode.OrK or OpCode.OrX => a | b,
        OpCode.XorK or OpCode.XorX => a ^ b,
        OpCode.LshK or OpCode.LshX => Lsh(a, b),
        OpCode.RshK or OpCode.RshX => Rsh(a, b),
        OpCode.ArshK or OpCode.ArshX => Arsh(a, b),
        OpCode.Neg => 0 - a,
        OpCode.Not => ~a,
        OpCode.Ret or OpCode.Ldb or OpCode.Ldw or OpCode.Lddw or OpCode.Ja or OpCode.JeqK or OpCode.JeqX or OpCode.JgtK
            or OpCode.JgtX or OpCode.JgeK or OpCode.JgeX or OpCode.JsgtK or OpCode.JsgtX or OpCode.JsgeK or OpCode.JsgeX
            or OpCode.JsetK or OpCode.JsetX or OpCode.Jin or OpCode.JstrEq or OpCode.JstrPrefix or OpCode.JstrSuffix or OpCode.JstrContains or OpCode.Jswitch
            => throw new ArgumentOutOfRangeException(nameof(op), op, "not an ALU operation"),
    };

    /// <summary>The string field whose descriptor sits at header offset <paramref name="descriptorOffset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> StringField(Record record, int descriptorOffset) =>
        record.GetString(descriptorOffset, RecordLayout.MaxLengthAt[descriptorOffset]);

    /// <summary>
    /// Whether the string test <paramref name="op"/> (jstreq, jstrpfx, jstrsfx, jstrsub) holds for a field's value
    /// and a constant: equal, starts with, ends with, contains. The empty constant starts, ends and is contained
    /// in every value. Bounded work: at most the field's maximum length times the constant's.
    /// </summary>
    public static bool StringTest(OpCode op, ReadOnlySpan<byte> value, ReadOnlySpan<byte> constant) => op switch
    {
        OpCode.JstrEq => value.SequenceEqual(constant),
        OpCode.JstrPrefix => value.StartsWith(constant),
        OpCode.JstrSuffix => value.EndsWith(constant),
        OpCode.JstrContains => value.IndexOf(constant) >= 0,
        OpCode.Ret or OpCode.Ldb or OpCode.Ldw or OpCode.Lddw or OpCode.MovK or OpCode.MovX or OpCode.AddK or OpCode.AddX
            or OpCode.SubK or OpCode.SubX or OpCode.AndK or OpCode.AndX or OpCode.OrK or OpCode.OrX or OpCode.XorK or OpCode.XorX
            or OpCode.LshK or OpCode.LshX or OpCode.RshK or OpCode.RshX or OpCode.ArshK or OpCode.ArshX or OpCode.Neg or OpCode.Not
            or OpCode.Ja or OpCode.JeqK or OpCode.JeqX or OpCode.JgtK or OpCode.JgtX or OpCode.JgeK or OpCode.JgeX or OpCode.JsgtK
            or OpCode.JsgtX or OpCode.JsgeK or OpCode.JsgeX or OpCode.JsetK or OpCode.JsetX or OpCode.Jin or OpCode.Jswitch
            => throw new ArgumentOutOfRangeException(nameof(op), op, "not a string test"),
    };
}
