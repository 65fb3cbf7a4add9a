using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Filter.Bytecode;

/// <summary>
/// A read-only view of one record in the binary layout of <see cref="RecordLayout"/>. Engines take this
/// type: its only invariant is that the span holds at least a full header, so every scalar load at a
/// verified offset is in bounds. String descriptors are checked when read (<see cref="GetString"/>).
/// </summary>
public readonly ref struct Record
{
    public readonly ReadOnlySpan<byte> Bytes;

    /// <exception cref="ArgumentException">The span is shorter than the header.</exception>
    public Record(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < RecordLayout.HeaderSize) throw TooShort(bytes.Length);
        Bytes = bytes;
    }

    // Out of line: the message's formatting, inlined into every caller, cost each a larger stack frame to
    // clear on entry.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ArgumentException TooShort(int length) =>
        new($"a record is at least {RecordLayout.HeaderSize} bytes; got {length}", "bytes");

    public uint Arch => U32(RecordLayout.Arch);
    public uint Syscall => U32(RecordLayout.Syscall);
    public long Exit => (long)U64(RecordLayout.Exit);
    public bool Success => Bytes[RecordLayout.Success] != 0;

    /// <summary>Reads a scalar field, widened to 64 bits as the bytecode's loads do.</summary>
    public ulong Load(ScalarField field) => field.Kind switch
    {
        FieldKind.U8 => Bytes[field.Offset],
        FieldKind.U32 => U32(field.Offset),
        _ => U64(field.Offset),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Bytes.Slice(offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.Slice(offset));

    /// <summary>
    /// The bytes of the string whose descriptor is at <paramref name="descriptorOffset"/>. A descriptor
    /// that points outside the record or past the field's maximum length reads as the empty string, so
    /// no record, however malformed, can make a string test read out of bounds (spec/record.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> GetString(int descriptorOffset, int maxLength)
    {
        uint d = U32(descriptorOffset);
        int offset = (int)(d & 0xFFFF), length = (int)(d >> 16);
        if (length > maxLength || offset < RecordLayout.HeaderSize || offset + length > Bytes.Length)
            return default;
        return Bytes.Slice(offset, length);
    }

    public ReadOnlySpan<byte> GetString(StringField field) => GetString(field.DescriptorOffset, field.MaxLength);
    public ReadOnlySpan<byte> Comm => GetString(RecordLayout.CommDescriptor, RecordLayout.CommMaxLength);
    public ReadOnlySpan<byte> Exe => GetString(RecordLayout.ExeDescriptor, RecordLayout.ExeMaxLength);

    /// <summary>A reference to the first byte, for engines that address the record by constant offsets.</summary>
    public ref byte Start => ref MemoryMarshal.GetReference(Bytes);
}
