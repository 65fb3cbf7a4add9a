using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Filter.Kernel.Asm;
using Filter.Kernel.Btf;
using Filter.Kernel.Link;
using Filter.Kernel.Programs;
using Filter.Kernel.Ringbuf;
using Filter.Kernel.Sys;
using Filter.Kernel.Translate;

namespace Filter.Kernel.Live;

public sealed record KernelTraceOptions
{
    /// <summary>The ring buffer's size (a power of two, at least a page).</summary>
    public int RingBufferBytes { get; init; } = 16 << 20;
    /// <summary>Threads with a syscall in flight at once (an LRU: beyond it, the oldest entry goes).</summary>
    public int Threads { get; init; } = 32768;
    /// <summary>Processes whose executable path is kept.</summary>
    public int Processes { get; init; } = 65536;
    /// <summary>
    /// Also trace the signals that end a process with a core dump, as the signal records audit's ANOM_ABEND
    /// is (spec/kernel.md): the filter decides on them as on syscall records. Off: syscall records only.
    /// </summary>
    public bool Signals { get; init; }
}

/// <summary>What the kernel side counted, summed over CPUs.</summary>
/// <param name="Seen">System call exits the program ran on.</param>
/// <param name="Gathered">Of those, the calls the filter may match, whose record was gathered and filtered.</param>
/// <param name="Matched">Records the filter matched and the ring buffer took.</param>
/// <param name="Lost">Records the filter matched but the ring buffer had no room for.</param>
public readonly record struct KernelTraceStats(ulong Seen, ulong Gathered, ulong Matched, ulong Lost);

/// <summary>One matching system call as the kernel sent it: our record, its verdict and when the call returned.</summary>
public readonly ref struct KernelEvent
{
    public ReadOnlySpan<byte> Bytes { get; }
    public uint Verdict { get; }
    /// <summary>Unix time in nanoseconds.</summary>
    public long Timestamp { get; }
    public Record Record => new(Bytes);

    internal KernelEvent(ReadOnlySpan<byte> bytes, uint verdict, long timestamp)
    {
        Bytes = bytes;
        Verdict = verdict;
        Timestamp = timestamp;
    }
}

public delegate void KernelEventHandler(in KernelEvent e);

/// <summary>
/// A verified filter running in the kernel at every system call's exit (spec/kernel.md): the maps, the
/// programs (four; one at sys_enter when the filter may match a call whose arguments exit cannot see; one at
/// signal delivery with <see cref="KernelTraceOptions.Signals"/>) and their links, and a reader of the ring buffer. Everything is held by descriptors: disposing
/// detaches it all, and so does the end of the process, however it ends.
/// </summary>
public sealed class KernelTrace : IDisposable
{
    private readonly TraceMaps _maps;
    private readonly List<BpfProgram> _programs;
    private readonly List<BpfLink> _links;
    private readonly RingBufferReader _reader;
    private readonly long _bootToUnixNs;

    public IReadOnlyList<uint> ProgramIds => [.. _programs.Select(p => p.Id)];

    /// <summary>Instructions of the exit program (the filter's translation and the record gathering).</summary>
    public int ExitProgramLength { get; }

    private KernelTrace(TraceMaps maps, List<BpfProgram> programs, List<BpfLink> links, RingBufferReader reader, int exitLength)
    {
        _maps = maps;
        _programs = programs;
        _links = links;
        _reader = reader;
        ExitProgramLength = exitLength;
        _bootToUnixNs = Clock.RealtimeNs() - Clock.BoottimeNs();
    }

    /// <summary>
    /// Loads and attaches everything, or says why it cannot: not root, no BPF or BTF, or the kernel's verifier
    /// refusing a program (its log in <see cref="KernelError.VerifierLog"/>). Nothing stays loaded on failure.
    /// </summary>
    public static KernelResult<KernelTrace> Start(VerifiedProgram filter, KernelTraceOptions? options = null)
    {
        options ??= new KernelTraceOptions();
        if (KernelSupport.Check(filter) is { } unsupported) return unsupported;
        if (!OperatingSystem.IsLinux()) return new KernelError(KernelErrorKind.Unsupported, "tracing system calls in the kernel needs Linux");
        var btf = BtfSpec.LoadKernel();
        if (!btf.Ok) return btf.Error!;
        var offsets = KernelOffsets.Resolve(btf.Value);
        if (!offsets.Ok) return offsets.Error!;
        var k = offsets.Value;
        var made = TraceMaps.Create(options.RingBufferBytes, options.Threads, options.Processes);
        if (!made.Ok) return made.Error!;
        var maps = made.Value;
        var programs = new List<BpfProgram>();
        var links = new List<BpfLink>();
        RingBufferReader? reader = null;
        try
        {
            var prefilter = new SyscallPrefilter(SyscallMatchTable.Of(filter));
            var code = new TracePrograms(k, maps, filter, prefilter);
            var exitCode = code.Exit();
            if (KernelLimits.Check(exitCode, "the filter") is { } limit) return Fail(limit);
            // The exe maintenance first, then the processes already running, then the syscall hooks.
            var steps = new (string Name, Func<RawInstruction[]> Code, AttachType Attach, int BtfId, string Hook)[]
            {
                ("filter_exec", code.Exec, AttachType.TraceRawTp, k.ProcessExec, "tp_btf/sched_process_exec"),
                ("filter_fork", code.Fork, AttachType.TraceRawTp, k.ProcessFork, "tp_btf/sched_process_fork"),
                ("filter_task_exit", code.TaskExit, AttachType.TraceRawTp, k.ProcessExit, "tp_btf/sched_process_exit"),
                ("filter_enter", code.Enter, AttachType.TraceRawTp, k.SysEnter, "tp_btf/sys_enter"),
                ("filter_exit", () => exitCode, AttachType.TraceRawTp, k.SysExit, "tp_btf/sys_exit"),
                ("filter_signal", code.SignalDeliver, AttachType.TraceRawTp, k.SignalDeliver, "tp_btf/signal_deliver"),
            };
            foreach (var step in steps)
            {
                if (step.Name == "filter_enter" && !prefilter.NeedsEntry) continue;
                if (step.Name == "filter_signal" && !options.Signals) continue;
                var loaded = BpfProgram.Load(new ProgramSpec(ProgramType.Tracing, step.Code(), step.Name, step.Attach, step.BtfId));
                if (!loaded.Ok) return Fail(loaded.Error!);
                programs.Add(loaded.Value);
                var link = BpfLink.AttachTracing(loaded.Value, step.Hook);
                if (!link.Ok) return Fail(link.Error!);
                links.Add(link.Value);
                if (step.Name == "filter_task_exit") ExeScan.Fill(maps.Exe);
            }
            var opened = RingBufferReader.Open(maps.Events);
            if (!opened.Ok) return Fail(opened.Error!);
            reader = opened.Value;
            return new KernelTrace(maps, programs, links, reader, exitCode.Length);
        }
        catch
        {
            Release();
            throw;
        }

        KernelResult<KernelTrace> Fail(KernelError error)
        {
            Release();
            return error;
        }

        void Release()
        {
            reader?.Dispose();
            foreach (var l in links) l.Dispose();
            foreach (var p in programs) p.Dispose();
            maps.Dispose();
        }
    }

    /// <summary>Each program's name, length, and the instructions the kernel's verifier processed to accept it (its work).</summary>
    public IReadOnlyList<(string Name, int Instructions, uint Verified)> VerifierWork =>
        [.. _programs.Select(p => (p.Spec.Name, p.Spec.Code.Length, p.VerifiedInstructions))];

    /// <summary>Each program's name, runs and total run time, counted while run-time statistics are on (<see cref="Bpf.EnableRunTimeStats"/>).</summary>
    public IReadOnlyList<(string Name, ulong Runs, ulong RunTimeNs)> ProgramStats() =>
        [.. _programs.Select(p => (p.Spec.Name, p.Stats().RunCount, p.Stats().RunTimeNs))];

    public KernelTraceStats Stats => new(_maps.Sum(TraceMaps.Counter.Seen), _maps.Sum(TraceMaps.Counter.Gathered),
        _maps.Sum(TraceMaps.Counter.Matched), _maps.Sum(TraceMaps.Counter.Lost));

    /// <summary>Waits up to <paramref name="timeoutMs"/> for events (the kernel wakes the reader only when its ring fills), then hands each to <paramref name="handler"/>; returns how many.</summary>
    public int Read(KernelEventHandler handler, int timeoutMs)
    {
        _reader.Wait(timeoutMs);
        return _reader.Drain(bytes =>
        {
            if (bytes.Length < KernelRecord.HeaderSize + RecordLayout.HeaderSize) return;
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[KernelRecord.LengthOffset..]);
            var record = bytes[KernelRecord.RecordOffset..];
            if (length <= (uint)record.Length) record = record[..(int)length];
            long boot = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes[KernelRecord.TimestampOffset..]);
            handler(new KernelEvent(record, BinaryPrimitives.ReadUInt32LittleEndian(bytes[KernelRecord.VerdictOffset..]), boot + _bootToUnixNs));
        });
    }

    public void Dispose()
    {
        _reader.Dispose();
        foreach (var l in _links) l.Dispose();
        foreach (var p in _programs) p.Dispose();
        _maps.Dispose();
    }
}

/// <summary>The executable paths of the processes running when tracing starts, from /proc (the kernel keeps later ones itself).</summary>
internal static class ExeScan
{
    public static unsafe void Fill(Maps.BpfMap exe)
    {
        var value = new byte[TraceMaps.PathValueSize];
        Span<byte> key = stackalloc byte[4];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!uint.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out uint pid)) continue;
            string? target;
            try { target = new FileInfo(Path.Combine(dir, "exe")).LinkTarget; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (string.IsNullOrEmpty(target)) continue;
            var bytes = Encoding.UTF8.GetBytes(target);
            if (bytes.Length > TraceMaps.PathArea) continue;
            Array.Clear(value);
            bytes.CopyTo(value, TraceMaps.PathBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(TraceMaps.PathLength), (uint)bytes.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(TraceMaps.PathStart), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(key, pid);
            // NOEXIST: an exec the kernel saw since we attached is newer than what /proc showed us.
            exe.Update(key, value, BpfConstants.NOEXIST);
        }
    }
}

internal static partial class Clock
{
    private const int CLOCK_REALTIME = 0, CLOCK_BOOTTIME = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec { public long Sec; public long Nsec; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGettime(int clock, out Timespec ts);

    private static long Now(int clock) => ClockGettime(clock, out var ts) == 0 ? ts.Sec * 1_000_000_000 + ts.Nsec : 0;
    public static long RealtimeNs() => Now(CLOCK_REALTIME);
    public static long BoottimeNs() => Now(CLOCK_BOOTTIME);
}
