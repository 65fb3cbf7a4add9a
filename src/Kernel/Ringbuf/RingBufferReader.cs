using Filter.Kernel.Maps;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Ringbuf;

/// <summary>
/// Reads a BPF_MAP_TYPE_RINGBUF from user space over its mmap'd pages, as the kernel lays them out
/// (<c>kernel/bpf/ringbuf.c</c>): a page holding the consumer position (ours to write), a page holding the
/// producer position, then the data area mapped twice in a row so that a record that wraps is still
/// contiguous. Each record starts with an 8-byte header: its length, with the busy bit set while the
/// producer writes it and the discard bit for a record given back. One consumer thread.
/// </summary>
public sealed unsafe class RingBufferReader : IDisposable
{
    private const uint BusyBit = BpfConstants.RINGBUF_BUSY_BIT, DiscardBit = BpfConstants.RINGBUF_DISCARD_BIT;
    private const int HeaderSize = (int)BpfConstants.RINGBUF_HDR_SZ;

    private readonly BpfMap _map;
    private readonly nuint _pageSize, _dataSize;
    private byte* _consumer, _producer;

    private RingBufferReader(BpfMap map, byte* consumer, byte* producer, nuint pageSize)
    {
        _map = map;
        _consumer = consumer;
        _producer = producer;
        _pageSize = pageSize;
        _dataSize = (nuint)map.MaxEntries;
    }

    public static KernelResult<RingBufferReader> Open(BpfMap map)
    {
        if (map.Type != MapType.Ringbuf) throw new ArgumentException("not a ring buffer map", nameof(map));
        var page = (nuint)Environment.SystemPageSize;
        void* consumer = Libc.Mmap(null, page, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, map.Fd.Value, 0);
        if (consumer == (void*)-1) return KernelError.FromErrno("map the ring buffer's consumer page", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        void* producer = Libc.Mmap(null, page + 2 * (nuint)map.MaxEntries, Libc.PROT_READ, Libc.MAP_SHARED, map.Fd.Value, (long)page);
        if (producer == (void*)-1)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            Libc.Munmap(consumer, page);
            return KernelError.FromErrno("map the ring buffer's data pages", errno);
        }
        return new RingBufferReader(map, (byte*)consumer, (byte*)producer, page);
    }

    /// <summary>Bytes written by the kernel and not yet consumed.</summary>
    public long Pending => (long)(Volatile.Read(ref *(ulong*)_producer) - Volatile.Read(ref *(ulong*)_consumer));

    /// <summary>
    /// Hands every complete record to <paramref name="onRecord"/> (its bytes are valid only during the call)
    /// and frees its space; returns how many. Stops at a record still being written.
    /// </summary>
    public int Drain(RecordHandler onRecord)
    {
        ObjectDisposedException.ThrowIf(_consumer == null, this);
        ref ulong consumerPos = ref *(ulong*)_consumer;
        ulong cons = consumerPos;
        ulong prod = Volatile.Read(ref *(ulong*)_producer);
        byte* data = _producer + _pageSize;
        ulong mask = _dataSize - 1;
        int n = 0;
        while (cons < prod)
        {
            byte* at = data + (cons & mask);
            uint header = Volatile.Read(ref *(uint*)at);
            if ((header & BusyBit) != 0) break;
            uint length = header & ~(BusyBit | DiscardBit);
            if ((header & DiscardBit) == 0)
            {
                onRecord(new ReadOnlySpan<byte>(at + HeaderSize, (int)length));
                n++;
            }
            cons += (length + HeaderSize + 7) & ~7UL;
            // Release: the kernel may reuse the space once it sees the new position.
            Volatile.Write(ref consumerPos, cons);
        }
        return n;
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for the kernel to signal data (it does so only for records sent with a wake-up).</summary>
    public void Wait(int timeoutMs)
    {
        if (Pending > 0) return;
        var fd = new Libc.PollFd { Fd = _map.Fd.Value, Events = Libc.POLLIN };
        Libc.Poll(&fd, 1, timeoutMs);
    }

    public void Dispose()
    {
        if (_consumer == null) return;
        Libc.Munmap(_consumer, _pageSize);
        Libc.Munmap(_producer, _pageSize + 2 * _dataSize);
        _consumer = _producer = null;
    }
}

public delegate void RecordHandler(ReadOnlySpan<byte> record);
