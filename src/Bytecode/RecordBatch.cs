using System.Runtime.CompilerServices;

namespace Filter.Bytecode;

/// <summary>
/// Many records laid back to back in one buffer, as a ring buffer or a reader delivers them: record
/// <c>i</c> is the bytes <c>[Offsets[i], Offsets[i + 1])</c> of <see cref="Buffer"/>, so a batch of
/// <c>n</c> records has <c>n + 1</c> offsets (an empty offsets span is an empty batch). The layout is
/// checked once, on construction, so that the engines' batch loops (<see cref="IRecordFilter.RunBatch"/>)
/// need no check per record: every record holds a full header and lies inside the buffer. Only the
/// string descriptors are checked per record, against that record's own end, never the buffer's.
/// </summary>
public readonly ref struct RecordBatch
{
    /// <summary>The records' bytes; bytes before the first offset or after the last belong to no record.</summary>
    public readonly ReadOnlySpan<byte> Buffer;

    /// <summary>Record boundaries: <see cref="Count"/> + 1 offsets into <see cref="Buffer"/>.</summary>
    public readonly ReadOnlySpan<int> Offsets;

    /// <exception cref="ArgumentException">
    /// An offset is negative or past the end of the buffer, the offsets decrease, or a record is shorter
    /// than the header (misuse of the API, not bad data: a reader must not hand over a torn record).
    /// </exception>
    public RecordBatch(ReadOnlySpan<byte> buffer, ReadOnlySpan<int> offsets)
    {
        if (offsets.Length > 0)
        {
            if (offsets[0] < 0)
                throw new ArgumentException($"offset 0 is negative ({offsets[0]})", nameof(offsets));
            for (int i = 1; i < offsets.Length; i++)
            {
                // offsets[i - 1] >= 0 here, so the subtraction cannot overflow once offsets[i] >= offsets[i - 1].
                if (offsets[i] < offsets[i - 1] || offsets[i] - offsets[i - 1] < RecordLayout.HeaderSize)
                    throw new ArgumentException(
                        $"record {i - 1} is bytes [{offsets[i - 1]}, {offsets[i]}); a record is at least {RecordLayout.HeaderSize} bytes",
                        nameof(offsets));
            }
            if (offsets[^1] > buffer.Length)
                throw new ArgumentException($"the last offset ({offsets[^1]}) is past the end of the buffer ({buffer.Length} bytes)", nameof(offsets));
        }
        Buffer = buffer;
        Offsets = offsets;
    }

    /// <summary>For <see cref="RecordBatchBuilder"/>, whose offsets are valid by construction: no second check.</summary>
#pragma warning disable IDE0060 // the parameter only selects this overload
    internal RecordBatch(ReadOnlySpan<byte> buffer, ReadOnlySpan<int> offsets, bool trusted)
#pragma warning restore IDE0060
    {
        Buffer = buffer;
        Offsets = offsets;
    }

    /// <summary>The number of records.</summary>
    public int Count => Offsets.Length == 0 ? 0 : Offsets.Length - 1;

    /// <summary>Record <paramref name="index"/>, a view into <see cref="Buffer"/> (no copy).</summary>
    public Record this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int start = Offsets[index];
            return new Record(Buffer.Slice(start, Offsets[index + 1] - start));
        }
    }

    /// <summary>Throws unless <paramref name="length"/> can hold one result per record.</summary>
    public void CheckOutput(int length, string name)
    {
        if (length < Count)
            throw new ArgumentException($"{Count} records need {Count} results; the span holds {length}", name);
    }
}

/// <summary>
/// Collects records into one growing buffer and hands them out as a <see cref="RecordBatch"/>. Buffers
/// are kept across <see cref="Clear"/>, so once they have grown to a batch's size, filling and running
/// batches allocates nothing.
/// </summary>
public sealed class RecordBatchBuilder
{
    private byte[] _buffer;
    private int[] _offsets;
    private int _count, _length;

    public RecordBatchBuilder(int recordCapacity = 256, int byteCapacity = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(recordCapacity);
        ArgumentOutOfRangeException.ThrowIfNegative(byteCapacity);
        _buffer = new byte[byteCapacity];
        _offsets = new int[recordCapacity + 1];
    }

    /// <summary>The number of records added since the last <see cref="Clear"/>.</summary>
    public int Count => _count;

    /// <summary>The bytes used by those records.</summary>
    public int Length => _length;

    /// <summary>Forgets the records; keeps the buffers.</summary>
    public void Clear() => _count = _length = 0;

    /// <summary>Appends the record <paramref name="builder"/> currently holds (<see cref="RecordBuilder.Build"/>).</summary>
    public void Add(RecordBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        Add(builder.Build());
    }

    /// <summary>Appends a record's bytes, copied.</summary>
    /// <exception cref="ArgumentException">The bytes are shorter than the header.</exception>
    public void Add(ReadOnlySpan<byte> record)
    {
        if (record.Length < RecordLayout.HeaderSize)
            throw new ArgumentException($"a record is at least {RecordLayout.HeaderSize} bytes; got {record.Length}", nameof(record));
        if (record.Length > Array.MaxLength - _length)
            throw new InvalidOperationException("a batch cannot hold more than 2 GB of records");
        if (_length + record.Length > _buffer.Length)
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, _length + record.Length)));
        if (_count + 2 > _offsets.Length)
            Array.Resize(ref _offsets, Math.Max(_offsets.Length * 2, _count + 2));
        record.CopyTo(_buffer.AsSpan(_length));
        _offsets[_count] = _length;
        _length += record.Length;
        _offsets[++_count] = _length;
    }

    /// <summary>The records added so far. Valid until the builder is next changed.</summary>
    public RecordBatch Batch => new(_buffer.AsSpan(0, _length), _offsets.AsSpan(0, _count == 0 ? 0 : _count + 1), trusted: true);
}
