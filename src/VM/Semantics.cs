using System.Runtime.CompilerServices;

namespace Filter.VM;

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
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "not a comparison with two operands"),
    };

    /// <summary>The string field whose descriptor sits at header offset <paramref name="descriptorOffset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> StringField(Record record, int descriptorOffset) =>
        record.GetString(descriptorOffset, descriptorOffset == RecordLayout.CommDescriptor ? RecordLayout.CommMaxLength : RecordLayout.ExeMaxLength);
}
