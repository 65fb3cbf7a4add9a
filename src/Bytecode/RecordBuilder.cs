using System.Buffers.Binary;
using System.Text;

namespace Filter.Bytecode;

/// <summary>
/// Builds records in the binary layout, reusing one buffer: after warm-up, filling and reading a record
/// allocates nothing. Strings longer than their field's maximum are truncated (as the kernel truncates
/// <c>comm</c> to 15 bytes). Field values are set by layout offset so every producer writes the same bytes.
/// </summary>
public sealed class RecordBuilder
{
    private readonly byte[] _buffer = new byte[RecordLayout.MaxRecordSize];
    private int _commLength, _exeLength;

    public RecordBuilder() => Clear();

    /// <summary>Resets every field to 0, false or the empty string.</summary>
    public void Clear()
    {
        // The comm slot too: a built record includes all of it, so its bytes past comm must not be a
        // previous record's.
        Array.Clear(_buffer, 0, RecordLayout.HeaderSize + RecordLayout.CommMaxLength);
        _commLength = _exeLength = 0;
    }

    /// <summary>Makes this builder hold a copy of <paramref name="record"/>: its header, then its strings.</summary>
    public void CopyFrom(Record record)
    {
        record.Bytes[..RecordLayout.HeaderSize].CopyTo(_buffer);
        SetComm(record.Comm);
        SetExe(record.Exe);
    }

    public void SetScalar(ScalarField field, ulong value)
    {
        var span = _buffer.AsSpan(field.Offset);
        switch (field.Kind)
        {
            case FieldKind.U8: span[0] = (byte)value; break;
            case FieldKind.U32: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }
    }

    public void SetU32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(offset), value);
    public void SetU64(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(offset), value);
    public void SetExit(long value) => SetU64(RecordLayout.Exit, (ulong)value);
    public void SetSuccess(bool value) => _buffer[RecordLayout.Success] = value ? (byte)1 : (byte)0;

    public void SetComm(ReadOnlySpan<byte> utf8)
    {
        _commLength = Copy(utf8, RecordLayout.HeaderSize, RecordLayout.CommMaxLength);
        // Built records include the whole comm slot: nothing of a longer previous comm may stay behind it.
        _buffer.AsSpan(RecordLayout.HeaderSize + _commLength, RecordLayout.CommMaxLength - _commLength).Clear();
    }

    public void SetExe(ReadOnlySpan<byte> utf8) =>
        _exeLength = Copy(utf8, RecordLayout.HeaderSize + RecordLayout.CommMaxLength, RecordLayout.ExeMaxLength);

    public void SetString(StringField field, ReadOnlySpan<byte> utf8)
    {
        if (field.DescriptorOffset == RecordLayout.CommDescriptor) SetComm(utf8);
        else SetExe(utf8);
    }

    public void SetComm(string value) => SetComm(Encoding.UTF8.GetBytes(value));
    public void SetExe(string value) => SetExe(Encoding.UTF8.GetBytes(value));

    private int Copy(ReadOnlySpan<byte> value, int at, int max)
    {
        int n = Math.Min(value.Length, max);
        value[..n].CopyTo(_buffer.AsSpan(at));
        return n;
    }

    /// <summary>
    /// Writes the string descriptors and returns the record's bytes: the header, comm's 15-byte slot, then
    /// exe (at most 15 bytes of slack, never 4 KB of padding). The span stays valid until the builder is
    /// next changed.
    /// </summary>
    public ReadOnlySpan<byte> Build()
    {
        const int commAt = RecordLayout.HeaderSize, exeAt = commAt + RecordLayout.CommMaxLength;
        WriteDescriptor(RecordLayout.CommDescriptor, commAt, _commLength);
        WriteDescriptor(RecordLayout.ExeDescriptor, exeAt, _exeLength);
        return _buffer.AsSpan(0, exeAt + _exeLength);
    }

    private void WriteDescriptor(int at, int offset, int length) =>
        SetU32(at, (uint)offset | ((uint)length << 16));

    /// <summary>A copy of the built record, for callers that keep records.</summary>
    public byte[] ToArray() => Build().ToArray();
}
