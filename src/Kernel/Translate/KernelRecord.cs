
namespace Filter.Kernel.Translate;

/// <summary>
/// The kernel side's record buffer, one per CPU (a per-CPU array map value): the event it sends to user space,
/// a 16-byte event header followed by our record (<see cref="RecordLayout"/>: the 128-byte header, comm, exe)
/// exactly as the interpreter reads it, and after it the translated filter's sixteen registers. The translated
/// filter reads the record at fixed offsets from a register pointing at <see cref="RecordOffset"/>; a matching
/// event is the first 16 + length bytes, sent as they are (never the registers).
/// <code>
/// 0                  u64  timestamp (boot-time ns)
/// 8                  u32  verdict (the deciding rule, 1..V)
/// 12                 u32  record length in bytes
/// 16                 ...  the record (at most RecordCapacity bytes)
/// 16+RecordCapacity  u64  our r0 .. r15
/// ...                ...  slack (ExeMaxLength bytes) that contains may read, never sent
/// </code>
/// The registers live in map memory, not on the BPF stack, because the kernel's verifier does not track what
/// map memory holds: every load of one is an unknown value, so the states it reaches at each of our
/// instructions are alike and it verifies each once (spec/kernel.md, "How much the kernel's verifier does").
/// </summary>
public static class KernelRecord
{
    public const int TimestampOffset = 0, VerdictOffset = 8, LengthOffset = 12, RecordOffset = 16;
    public const int HeaderSize = RecordOffset;

    /// <summary>
    /// The largest record the kernel side holds, rounded up to 8 bytes: the header, comm and exe, the strings it
    /// gathers. The other strings of the layout (keys, cwd, PATH names, ...) are never gathered, and a filter
    /// that reads one is refused (<see cref="KernelSupport"/>), so their descriptors stay 0 (the empty string).
    /// </summary>
    public const int RecordCapacity = (RecordLayout.HeaderSize + RecordLayout.CommMaxLength + RecordLayout.ExeMaxLength + 7) & ~7;

    /// <summary>The largest event: its header and the largest record.</summary>
    public const int EventCapacity = HeaderSize + RecordCapacity;

    /// <summary>Where the filter's registers are, from the start of the record (the translated code's base).</summary>
    public const short RegistersFromRecord = RecordCapacity;

    public const int Registers = 16;

    /// <summary>
    /// The size of the buffer: the largest event, the registers, and slack as long as exe (the longest string
    /// gathered) that <c>contains</c> reads past a string at the record's end without a branch (its result there masked out).
    /// </summary>
    public const int BufferSize = EventCapacity + 8 * Registers + RecordLayout.ExeMaxLength;

    /// <summary>Where the record's length is, from the start of the record.</summary>
    public const short LengthFromRecord = LengthOffset - RecordOffset;
}
