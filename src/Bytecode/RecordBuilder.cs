using System.Buffers.Binary;
using System.Text;

namespace Filter.Bytecode;

/// <summary>
/// Builds records in the binary layout, reusing its buffers: after warm-up, filling and reading a record
/// allocates nothing. Strings longer than their field's maximum are truncated (as the kernel truncates
/// <c>comm</c> to 15 bytes). Field values are set by layout offset so every producer writes the same bytes.
/// </summary>
/// <remarks>
/// A built record is the header, comm's 15-byte slot, exe, then the other strings that are not empty, in
/// <see cref="RecordLayout.Strings"/> order. comm and exe are written in place; the others wait in a staging
/// area of their own and are copied behind exe by <see cref="Build"/>, so a record with none of them (every
/// syscall record of the pipeline) costs no copy.
/// </remarks>
public sealed class RecordBuilder
{
    private const int CommAt = RecordLayout.HeaderSize, ExeAt = CommAt + RecordLayout.CommMaxLength;

    /// <summary>The strings after comm and exe: where each waits in the staging area.</summary>
    private static readonly StringField[] Extras = RecordLayout.Strings.Skip(2).ToArray();
    private static readonly int[] StagedAt = Extras.Select((s, k) => Extras.Take(k).Sum(e => e.MaxLength)).ToArray();

    // Header, comm and exe; the room for the other strings (about 110 KB with their staging area) only once
    // one is set: a reader holds a builder per open event, and most filters read none of them.
    private const int SmallSize = ExeAt + RecordLayout.ExeMaxLength;
    private static readonly int StagedSize = Extras.Sum(e => e.MaxLength);
    private byte[] _buffer = new byte[SmallSize];
    private byte[] _staged = [];
    private readonly int[] _extraLength = new int[Extras.Length];
    private int _commLength, _exeLength, _extras;

    public RecordBuilder() => Clear();

    /// <summary>Resets every field to 0, false or the empty string.</summary>
    public void Clear()
    {
        // The comm slot too: a built record includes all of it, so its bytes past comm must not be a
        // previous record's.
        Array.Clear(_buffer, 0, RecordLayout.HeaderSize + RecordLayout.CommMaxLength);
        _commLength = _exeLength = 0;
        if (_extras != 0) Array.Clear(_extraLength);
        _extras = 0;
    }

    /// <summary>Makes this builder hold a copy of <paramref name="record"/>: its header, then its strings.</summary>
    public void CopyFrom(Record record)
    {
        record.Bytes[..RecordLayout.HeaderSize].CopyTo(_buffer);
        SetComm(record.Comm);
        SetExe(record.Exe);
        if (_extras != 0) Array.Clear(_extraLength);
        _extras = 0;
        for (int k = 0; k < Extras.Length; k++)
        {
            var s = record.GetString(Extras[k]);
            if (s.Length > 0) SetExtra(k, s);
        }
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

    public void SetU8(int offset, byte value) => _buffer[offset] = value;
    public void SetU32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(offset), value);
    public void SetU64(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(offset), value);
    public void SetExit(long value) => SetU64(RecordLayout.Exit, (ulong)value);
    public void SetSuccess(bool value) => _buffer[RecordLayout.Success] = value ? (byte)1 : (byte)0;

    public void SetComm(ReadOnlySpan<byte> utf8)
    {
        _commLength = Copy(utf8, _buffer.AsSpan(CommAt, RecordLayout.CommMaxLength));
        // Built records include the whole comm slot: nothing of a longer previous comm may stay behind it.
        _buffer.AsSpan(CommAt + _commLength, RecordLayout.CommMaxLength - _commLength).Clear();
    }

    public void SetExe(ReadOnlySpan<byte> utf8) => _exeLength = Copy(utf8, _buffer.AsSpan(ExeAt, RecordLayout.ExeMaxLength));

    /// <summary>Sets any string field (truncated to its maximum length).</summary>
    public void SetString(StringField field, ReadOnlySpan<byte> utf8)
    {
        switch (field.DescriptorOffset)
        {
            case RecordLayout.CommDescriptor: SetComm(utf8); break;
            case RecordLayout.ExeDescriptor: SetExe(utf8); break;
            default: SetExtra(ExtraIndex(field), utf8); break;
        }
    }

    public void SetString(StringField field, string value) => SetString(field, Encoding.UTF8.GetBytes(value));
    public void SetComm(string value) => SetComm(Encoding.UTF8.GetBytes(value));
    public void SetExe(string value) => SetExe(Encoding.UTF8.GetBytes(value));

    /// <summary>Copies header bytes [<paramref name="start"/>, <paramref name="end"/>) as set so far in <paramref name="source"/>.</summary>
    public void CopyHeader(RecordBuilder source, int start, int end)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(end, RecordLayout.HeaderSize);
        source._buffer.AsSpan(start, end - start).CopyTo(_buffer.AsSpan(start));
    }

    /// <summary>The 32-bit value at a header offset as set so far.</summary>
    public uint GetU32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(offset, sizeof(uint)));

    /// <summary>The value of a scalar field as set so far.</summary>
    public ulong GetScalar(ScalarField field) => new Record(_buffer.AsSpan(0, RecordLayout.HeaderSize)).Load(field);

    /// <summary>The value of a string field as set so far (valid until the builder is next changed).</summary>
    public ReadOnlySpan<byte> GetString(StringField field) => field.DescriptorOffset switch
    {
        RecordLayout.CommDescriptor => _buffer.AsSpan(CommAt, _commLength),
        RecordLayout.ExeDescriptor => _buffer.AsSpan(ExeAt, _exeLength),
        _ => ExtraString(ExtraIndex(field)),
    };

    // Unset strings are empty, with or without a staging area yet.
    private ReadOnlySpan<byte> ExtraString(int k) => _extraLength[k] > 0 ? _staged.AsSpan(StagedAt[k], _extraLength[k]) : default;

    /// <summary>
    /// The staging area of a string field other than comm and exe, to be filled in place; <see cref="SetLength"/>
    /// then says how much of it holds the value. For readers that decode straight into the record.
    /// </summary>
    public Span<byte> StringArea(StringField field)
    {
        int k = ExtraIndex(field);
        EnsureExtras();
        return _staged.AsSpan(StagedAt[k], field.MaxLength);
    }

    /// <summary>The length of the value written to <see cref="StringArea"/> (at most the field's maximum).</summary>
    public void SetLength(StringField field, int length)
    {
        int k = ExtraIndex(field);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, field.MaxLength);
        if (length > 0) EnsureExtras();
        _extraLength[k] = length;
        _extras |= length > 0 ? 1 << k : 0;
    }

    private void SetExtra(int k, ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            _extraLength[k] = 0;
            _extras &= ~(1 << k);
            return;
        }
        EnsureExtras();
        int n = Copy(utf8, _staged.AsSpan(StagedAt[k], Extras[k].MaxLength));
        _extraLength[k] = n;
        _extras |= n > 0 ? 1 << k : 0;
    }

    // Extras' index by descriptor offset: found for every string set, and Array.IndexOf's record equality
    // (names compared) was a tenth of reading a log whose filter reads paths.
    private static readonly int[] ExtraByDescriptor = Enumerable.Range(0, RecordLayout.HeaderSize)
        .Select(offset => Array.FindIndex(Extras, e => e.DescriptorOffset == offset)).ToArray();

    private static int ExtraIndex(StringField field)
    {
        if ((uint)field.DescriptorOffset < (uint)ExtraByDescriptor.Length && ExtraByDescriptor[field.DescriptorOffset] is >= 0 and var found
            && ReferenceEquals(Extras[found], field)) return found;
        int k = Array.IndexOf(Extras, field);
        if (k < 0) throw new ArgumentException($"'{field.Name}' is not a string field of the layout other than comm and exe", nameof(field));
        return k;
    }

    private void EnsureExtras()
    {
        if (_staged.Length > 0) return;
        // Not zeroed: only what is written is read back (a value up to its length, a record up to its end),
        // and zeroing the 0.5 MB would touch every page of it (on these VMs 11 us a page, 1.5 ms a run).
        _staged = GC.AllocateUninitializedArray<byte>(StagedSize);
        var larger = GC.AllocateUninitializedArray<byte>(RecordLayout.MaxRecordSize);
        _buffer.CopyTo(larger);
        _buffer = larger;
    }

    private static int Copy(ReadOnlySpan<byte> value, Span<byte> to)
    {
        int n = Math.Min(value.Length, to.Length);
        value[..n].CopyTo(to);
        return n;
    }

    /// <summary>
    /// Writes the string descriptors and returns the record's bytes: the header, comm's 15-byte slot, exe
    /// (at most 15 bytes of slack, never 4 KB of padding), then the other non-empty strings. The span stays
    /// valid until the builder is next changed.
    /// </summary>
    public ReadOnlySpan<byte> Build()
    {
        WriteDescriptor(RecordLayout.CommDescriptor, CommAt, _commLength);
        WriteDescriptor(RecordLayout.ExeDescriptor, ExeAt, _exeLength);
        int end = ExeAt + _exeLength;
        for (int k = 0; k < Extras.Length; k++)
        {
            int n = (_extras >> k & 1) == 0 ? 0 : _extraLength[k];
            if (n > 0) _staged.AsSpan(StagedAt[k], n).CopyTo(_buffer.AsSpan(end));
            // An empty string's descriptor is 0 (it reads as empty), as every producer that never sets the field writes it.
            SetU32(Extras[k].DescriptorOffset, n > 0 ? (uint)end | (uint)n << 16 : 0);
            end += n;
        }
        return _buffer.AsSpan(0, end);
    }

    private void WriteDescriptor(int at, int offset, int length) =>
        SetU32(at, (uint)offset | ((uint)length << 16));

    /// <summary>A copy of the built record, for callers that keep records.</summary>
    public byte[] ToArray() => Build().ToArray();
}
