namespace Filter.Audit.Ids;

/// <summary>
/// The fds of one process known to be a socket or a pipe ("channels"). Fds 0..63 are a bitmap; larger
/// ones go in a small set capped at <see cref="MaxHighFds"/> (a process with more open sockets than that
/// loses track of the newest: a read on them is then not seen as a receive — spec/ids.md, "Limits").
/// </summary>
internal sealed class ChannelFds
{
    public const int MaxHighFds = 64;

    private ulong _low;
    private HashSet<long>? _high;

    public bool Contains(long fd) =>
        fd is >= 0 and < 64 ? (_low & (1UL << (int)fd)) != 0 : fd >= 64 && _high is not null && _high.Contains(fd);

    public void Set(long fd, bool channel)
    {
        if (fd < 0) return;
        if (fd < 64)
        {
            if (channel) _low |= 1UL << (int)fd; else _low &= ~(1UL << (int)fd);
            return;
        }
        if (!channel) { _high?.Remove(fd); return; }
        _high ??= [];
        if (_high.Count < MaxHighFds) _high.Add(fd);
    }

    /// <summary>Forgets every fd in <paramref name="first"/>..<paramref name="last"/> (close_range).</summary>
    public void RemoveRange(ulong first, ulong last)
    {
        if (first > last) return;
        if (first < 64)
        {
            int hi = (int)Math.Min(last, 63);
            int lo = (int)first;
            ulong mask = (hi - lo == 63 ? ulong.MaxValue : ((1UL << (hi - lo + 1)) - 1)) << lo;
            _low &= ~mask;
        }
        _high?.RemoveWhere(fd => (ulong)fd >= first && (ulong)fd <= last);
    }

    public ChannelFds Copy() => new() { _low = _low, _high = _high is null ? null : [.. _high] };

    public int Count => System.Numerics.BitOperations.PopCount(_low) + (_high?.Count ?? 0);
}
