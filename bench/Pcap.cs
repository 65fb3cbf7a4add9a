using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// libpcap's classic-BPF interpreter <c>bpf_filter()</c> as a column of <see cref="FilterBenchmarks"/>: the same
/// records (<see cref="RecordSet"/>, converted to <see cref="SeccompRecords"/> slots before timing) and an
/// equivalent hand-written cBPF program per filter (<see cref="CbpfPrograms"/>).
/// </summary>
/// <remarks>
/// Where libpcap cannot be loaded, the benchmark's config prints <see cref="PcapPeer.Status"/> and skips the
/// column. Setup throws unless every cBPF program gives the interpreter's verdict on every benchmark record
/// and on a set of edge-case records (all arches, extreme values, short exe strings).
/// </remarks>
internal sealed class Pcap
{
    private BpfInsn[] _program = null!;
    private byte[] _slots = null!;
    private int _count, _passes;
    private bool _withTransition;
    private string _filterName = "";

    public void Setup(string filterName, VerifiedProgram program, int count, int passes)
    {
        if (!PcapPeer.IsAvailable) return;
        _filterName = filterName;
        var records = RecordSet.Build(count); // the same seed, so the same records as the engines'
        _count = records.Count;
        _passes = passes;
        _slots = SeccompRecords.Convert(records);
        _program = CbpfPrograms.Build(filterName);
        _withTransition = Environment.GetEnvironmentVariable(PcapPeer.TransitionVariable) == "1";
        if (!PcapPeer.Validate(_program))
            throw new InvalidOperationException($"{filterName}: libpcap's bpf_validate rejects the cBPF program");

        for (int i = 0; i < records.Count; i++)
            Agree(program, new Record(records[i]), _slots.AsSpan(i * SeccompRecords.Stride, SeccompRecords.Stride), $"benchmark record {i}");
        var edges = EdgeRecords();
        var slot = new byte[SeccompRecords.Stride];
        for (int i = 0; i < edges.Count; i++)
        {
            SeccompRecords.Write(new Record(edges[i]), slot);
            Agree(program, new Record(edges[i]), slot, $"edge-case record {i}");
        }
    }

    public unsafe int Run()
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

    private void Agree(VerifiedProgram program, Record record, ReadOnlySpan<byte> slot, string what)
    {
        bool ours = global::Filter.VM.Interpreter.Run(program, record) != 0;
        bool peer = PcapPeer.Run(_program, slot) != 0;
        if (ours != peer)
            throw new InvalidOperationException(
                $"{_filterName}: on {what} (arch 0x{record.Arch:x8}, syscall {record.Syscall}) the interpreter says {ours}, libpcap {peer}; slot {Convert.ToHexString(slot)}");
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
}
