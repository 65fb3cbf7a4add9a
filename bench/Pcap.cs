using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using Filter.Compiler;
using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// The benchmark filters on libpcap's classic-BPF interpreter <c>bpf_filter()</c> beside our engines, in the
/// same run: the same records (<see cref="RecordSet"/>, converted to <see cref="SeccompRecords"/> slots
/// before timing) and an equivalent hand-written cBPF program per filter (<see cref="CbpfPrograms"/>).
/// <c>Libpcap</c> is the baseline, so the Ratio column reads "times libpcap's time"; the target is
/// Interpreter &lt;= 0.50 on every filter. Mean is nanoseconds per record, as in <see cref="FilterBenchmarks"/>.
/// </summary>
/// <remarks>
/// Where libpcap cannot be loaded, a message says so and the Libpcap column is skipped; the other columns
/// still run. Setup throws unless every cBPF program gives the interpreter's verdict on every benchmark
/// record and on a set of edge-case records (all arches, extreme values, short exe strings).
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(SkipWithoutLibpcap))]
public class PcapBenchmarks
{
    private const int Operations = 1_000_000;

    [Params("lifecycle", "lifecycle_uid", "allowlist40", "exe_tmp", "deep30")]
    public string FilterName { get; set; } = "lifecycle";

    private readonly FilterBenchmarks _engines = new();
    private BpfInsn[] _program = null!;
    private byte[] _slots = null!;
    private int _count, _passes;
    private bool _withTransition;

    [GlobalSetup]
    public void Setup()
    {
        _engines.FilterName = FilterName;
        _engines.Setup(); // builds the records and checks our engines against the hand-written predicate
        if (!PcapPeer.IsAvailable) return;

        int count = int.TryParse(Environment.GetEnvironmentVariable(FilterBenchmarks.RecordCountVariable), out int n) ? n : Operations;
        var records = RecordSet.Build(count); // the same seed, so the same records as _engines
        _count = records.Count;
        _passes = Operations / count;
        _slots = SeccompRecords.Convert(records);
        _program = CbpfPrograms.Build(FilterName);
        _withTransition = Environment.GetEnvironmentVariable(PcapPeer.TransitionVariable) == "1";
        if (!PcapPeer.Validate(_program))
            throw new InvalidOperationException($"{FilterName}: libpcap's bpf_validate rejects the cBPF program");

        var program = Compile(FilterBenchmarks.Filters[FilterName]);
        for (int i = 0; i < records.Count; i++)
            Agree(program, new Record(records[i]), _slots.AsSpan(i * SeccompRecords.Stride, SeccompRecords.Stride), $"benchmark record {i}");
        var edges = EdgeRecords();
        var slot = new byte[SeccompRecords.Stride];
        for (int i = 0; i < edges.Count; i++)
        {
            SeccompRecords.Write(new Record(edges[i]), slot);
            Agree(program, new Record(edges[i]), slot, $"edge-case record {i}");
        }
        int expected = _engines.HandWritten(), matches = Libpcap();
        if (matches != expected) throw new InvalidOperationException($"{FilterName}: libpcap matched {matches}, hand-written {expected}");
    }

    [Benchmark(OperationsPerInvoke = Operations)]
    public int HandWritten() => _engines.HandWritten();

    [Benchmark(OperationsPerInvoke = Operations)]
    public int Interpreter() => _engines.Interpreter();

    [Benchmark(OperationsPerInvoke = Operations)]
    public int Jitted() => _engines.Jitted();

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public unsafe int Libpcap()
    {
        int matches = 0;
        const uint length = SeccompRecords.Stride;
        fixed (BpfInsn* program = _program)
        fixed (byte* slots = _slots) // pinned already: fixed costs nothing
        {
            if (_withTransition)
            {
                var run = PcapPeer.FilterWithTransition;
                for (int pass = 0; pass < _passes; pass++)
                    for (byte* r = slots, end = slots + (long)_count * length; r < end; r += length)
                        if (run(program, r, length, length) != 0) matches++;
            }
            else
            {
                var run = PcapPeer.Filter;
                for (int pass = 0; pass < _passes; pass++)
                    for (byte* r = slots, end = slots + (long)_count * length; r < end; r += length)
                        if (run(program, r, length, length) != 0) matches++;
            }
        }
        return matches;
    }

    private static VerifiedProgram Compile(string text)
    {
        var compilation = FilterCompiler.Compile(text);
        if (!compilation.Success) throw new InvalidOperationException(compilation.RenderDiagnostics());
        var verified = global::Filter.Verifier.Verifier.Verify(compilation.Image!);
        return verified.Program ?? throw new InvalidOperationException(verified.Error!.ToString());
    }

    private void Agree(VerifiedProgram program, Record record, ReadOnlySpan<byte> slot, string what)
    {
        bool ours = global::Filter.VM.Interpreter.Run(program, record) != 0;
        bool peer = PcapPeer.Run(_program, slot) != 0;
        if (ours != peer)
            throw new InvalidOperationException(
                $"{FilterName}: on {what} (arch 0x{record.Arch:x8}, syscall {record.Syscall}) the interpreter says {ours}, libpcap {peer}; slot {Convert.ToHexString(slot)}");
    }

    /// <summary>Records that probe the programs' edges: every arch (and an unknown one), syscall numbers around
    /// the sets, 64-bit values around each constant and across the word boundary, exe prefixes of every length.</summary>
    private static List<byte[]> EdgeRecords()
    {
        uint[] arches = [AuditArch.X86_64, AuditArch.I386, AuditArch.Aarch64, 0x12345678];
        uint[] words = [0, 1, 2, 99, 100, 101, 999, 1000, 1001, 1999, 2000, 49999, 50000, 50001, 59999, 60000, 60001, 0x7fffffff, 0x80000000, 0xfffffffe, uint.MaxValue];
        ulong[] longs = [0, 1, 2, 3, 4, 5, 9, 10, 11, 0xfff, 0x1000, 0x1001, 0x7fffffff, 0x80000000, 0xffffffff, 0x1_0000_0000, 0x1_0000_0003, 0x4_0000_0004,
                         0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_0000_0000, ulong.MaxValue - 1, ulong.MaxValue];
        long[] exits = [0, 1, -1, -2, -3, -199, -200, -201, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x1_0000_0000, -0x8000_0000, -0x1_0000_0000,
                        -0x1_0000_0001, long.MinValue, long.MaxValue];
        string[] exes = ["", "/", "/t", "/tm", "/tmp", "/tmp/", "/tmp/x", "/tmp/.x/miner", "/tmpx/", "/tmp\0/", "/TMP/", "//tmp/", "/usr/bin/ls"];
        var random = new Random(4);
        var builder = new RecordBuilder();
        var records = new List<byte[]>();
        for (int i = 0; i < 20_000; i++)
        {
            builder.Clear();
            builder.SetU32(RecordLayout.Arch, arches[random.Next(arches.Length)]);
            builder.SetU32(RecordLayout.Syscall, random.Next(4) == 0 ? words[random.Next(words.Length)] : (uint)random.Next(0, 460));
            builder.SetExit(exits[random.Next(exits.Length)]);
            builder.SetSuccess(random.Next(2) == 0);
            for (int a = 0; a < 6; a++) builder.SetU64(RecordLayout.A0 + 8 * a, longs[random.Next(longs.Length)]);
            // Credentials often equal (0 or 1000) so that the &&-chains get deep; otherwise anything.
            uint common = random.Next(3) switch { 0 => 0u, 1 => 1000u, _ => words[random.Next(words.Length)] };
            foreach (var field in RecordLayout.Scalars)
                if (field.Kind == FieldKind.U32 && field.Offset >= RecordLayout.Pid)
                    builder.SetU32(field.Offset, random.Next(3) == 0 ? words[random.Next(words.Length)] : common);
            builder.SetExe(exes[random.Next(exes.Length)]);
            records.Add(builder.ToArray());
        }
        return records;
    }

    /// <summary>Skips the Libpcap column, with a message, where the library cannot be loaded.</summary>
    public sealed class SkipWithoutLibpcap : ManualConfig
    {
        private static int _told;

        public SkipWithoutLibpcap()
        {
            if (Interlocked.Exchange(ref _told, 1) == 0) Console.WriteLine(PcapPeer.Status);
            if (!PcapPeer.IsAvailable)
                AddFilter(new SimpleFilter(b => b.Descriptor.WorkloadMethod.Name != nameof(Libpcap)));
        }
    }
}
