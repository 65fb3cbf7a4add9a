using Filter.Kernel.Maps;
using Filter.Kernel.Sys;
using Filter.Kernel.Translate;

namespace Filter.Kernel.Live;

/// <summary>
/// The maps the live programs share. Their value layouts are the ABI between the programs and with user space:
/// <list type="bullet">
/// <item><see cref="InFlight"/>: thread id → the syscall as it entered (<see cref="EntryNr"/>, arguments, arch), as audit takes them at entry.</item>
/// <item><see cref="Buffer"/>: per CPU, the event being built (<see cref="KernelRecord"/>).</item>
/// <item><see cref="Events"/>: the ring buffer of matching events.</item>
/// <item><see cref="Counters"/>: one array value holding, per CPU, a 64-byte line of u64 counters (<see cref="Counter"/>): the programs address it directly (no lookup) at the CPU's line, so counting costs a few instructions and no CPU shares a line.</item>
/// <item><see cref="Exe"/>: process id → its executable's path as audit logs it: <see cref="PathLength"/> bytes at <see cref="PathStart"/> of the bytes from <see cref="PathBytes"/>; set at exec, copied at fork, removed when the last thread exits; filled from /proc for processes already running.</item>
/// <item><see cref="PathScratch"/>: per CPU, where an exec's path is built, backwards from the end of its area.</item>
/// </list>
/// </summary>
internal sealed class TraceMaps : IDisposable
{
    public const int EntryNr = 0, EntryArgs = 8, EntryArch = 56, EntrySize = 64;
    public const int PathLength = 0, PathStart = 4, PathBytes = 8;
    /// <summary>The path's area, and slack past it: the kernel's verifier bounds a name's copy by the name's maximum (255), not by where it ends.</summary>
    public const int PathArea = RecordLayout.ExeMaxLength, PathValueSize = PathBytes + PathArea + 256;

    public enum Counter { Seen, Gathered, Matched, Lost }
    public const int CounterLine = 64;

    public required BpfMap InFlight { get; init; }
    public required BpfMap Buffer { get; init; }
    public required BpfMap Events { get; init; }
    public required BpfMap Counters { get; init; }
    public required BpfMap Exe { get; init; }
    public required BpfMap PathScratch { get; init; }

    private IEnumerable<BpfMap> All => [InFlight, Buffer, Events, Counters, Exe, PathScratch];

    public static KernelResult<TraceMaps> Create(int ringBytes, int threads, int processes)
    {
        var made = new List<BpfMap>();
        KernelError? error = null;
        BpfMap Make(MapType type, int key, int value, int entries, string name, uint flags = 0)
        {
            if (error is not null) return null!;
            var map = BpfMap.Create(type, key, value, entries, name, flags);
            if (!map.Ok) { error = map.Error; return null!; }
            made.Add(map.Value);
            return map.Value;
        }
        var maps = new TraceMaps
        {
            InFlight = Make(MapType.LruHash, 4, EntrySize, threads, "filter_inflight"),
            Buffer = Make(MapType.PercpuArray, 4, KernelRecord.BufferSize, 1, "filter_buffer"),
            Events = Make(MapType.Ringbuf, 0, 0, ringBytes, "filter_events"),
            Counters = Make(MapType.Array, 4, CounterLine * Cpus.Possible, 1, "filter_counters"),
            Exe = Make(MapType.Hash, 4, PathValueSize, processes, "filter_exe", BpfConstants.F_NO_PREALLOC),
            PathScratch = Make(MapType.PercpuArray, 4, PathValueSize, 1, "filter_path"),
        };
        if (error is null) return maps;
        foreach (var m in made) m.Dispose();
        return error;
    }

    public ulong Sum(Counter counter)
    {
        var value = new byte[Counters.ValueSize];
        if (Counters.Lookup(new byte[4], value) != 0) return 0;
        ulong sum = 0;
        for (int cpu = 0; cpu < Cpus.Possible; cpu++) sum += BitConverter.ToUInt64(value, cpu * CounterLine + (int)counter * 8);
        return sum;
    }

    public void Dispose()
    {
        foreach (var m in All) m?.Dispose();
    }
}
