
namespace Filter.Kernel.Translate;

/// <summary>
/// The kernel side's record buffer, one per CPU (a per-CPU array map value), and the event it sends to
/// user space: a 16-byte event header followed by our record (<see cref="RecordLayout"/>: the 128-byte
/// header, comm, exe), exactly as the interpreter reads it. The translated filter reads the record at
/// fixed offsets from a register pointing at <see cref="RecordOffset"/>; a matching event is the first
/// 16 + length bytes, sent as they are.
/// <code>
/// 0   u64  timestamp (boot-time ns)
/// 8   u32  verdict (the deciding rule, 1..V)
/// 12  u32  record length in bytes
/// 16  ...  the record (at most RecordCapacity bytes)
/// </code>
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

    /// <summary>The size of the buffer: event header and the largest record.</summary>
    public const int BufferSize = HeaderSize + RecordCapacity;

    /// <summary>Where the record's length is, from the start of the record (the translated code's base).</summary>
    public const short LengthFromRecord = LengthOffset - RecordOffset;
}
