using Filter.VM;

namespace Filter.Bench;

/// <summary>
/// A fixed, reproducible syscall mix in one contiguous buffer (records back to back, as a ring buffer
/// delivers them), with the start of record i at <c>Offsets[i]</c> and its end at <c>Offsets[i + 1]</c>.
/// </summary>
public sealed class RecordSet
{
    public byte[] Buffer { get; }
    public int[] Offsets { get; }
    public int Count => Offsets.Length - 1;

    private RecordSet(byte[] buffer, int[] offsets) => (Buffer, Offsets) = (buffer, offsets);

    public ReadOnlySpan<byte> this[int i] => Buffer.AsSpan(Offsets[i], Offsets[i + 1] - Offsets[i]);

    // x86_64 numbers: mostly read/write/clock_gettime, some openat/close/mmap, a few lifecycle calls.
    private static readonly (int Weight, uint Syscall)[] Mix =
    [
        (300, 0), (250, 1), (200, 228),            // read, write, clock_gettime
        (50, 257), (50, 3), (40, 9),               // openat, close, mmap
        (30, 202), (20, 232), (20, 7), (15, 44),   // futex, epoll_wait, poll, sendto
        (10, 318), (10, 16),                       // getrandom, ioctl (the allowlist's tail)
        (5, 59), (3, 56), (1, 57), (1, 231),       // execve, clone, fork, exit_group
        (5, 62), (3, 101), (2, 165),               // kill, ptrace, mount: outside every set
    ];

    private static readonly string[] Exes = ["/usr/bin/python3.11", "/usr/lib/firefox/firefox", "/usr/sbin/sshd", "/usr/bin/bash", "/tmp/.x/miner", "/usr/bin/ls"];
    private static readonly string[] Comms = ["python3", "firefox", "sshd", "bash", "miner", "ls"];

    public static RecordSet Build(int count, int seed = 20240601)
    {
        var random = new Random(seed);
        int total = Mix.Sum(m => m.Weight);
        var builder = new RecordBuilder();
        var buffer = new MemoryStream();
        var offsets = new int[count + 1];
        for (int i = 0; i < count; i++)
        {
            builder.Clear();
            int pick = random.Next(total), s = 0;
            while (pick >= Mix[s].Weight) pick -= Mix[s++].Weight;
            builder.SetU32(RecordLayout.Arch, AuditArch.X86_64);
            builder.SetU32(RecordLayout.Syscall, Mix[s].Syscall);
            bool ok = random.Next(10) != 0;
            builder.SetSuccess(ok);
            builder.SetExit(ok ? random.Next(0, 4096) : -random.Next(1, 40));
            for (int a = 0; a < 6; a++) builder.SetU64(RecordLayout.A0 + 8 * a, (ulong)random.NextInt64(0, 1L << random.Next(1, 48)));
            builder.SetU32(RecordLayout.Pid, (uint)random.Next(1, 60000));
            builder.SetU32(RecordLayout.Ppid, (uint)random.Next(1, 3000));
            uint uid = random.Next(5) == 0 ? 0u : 1000u;
            builder.SetU32(RecordLayout.Auid, random.Next(4) == 0 ? uint.MaxValue : 1000u);
            foreach (int at in new[] { RecordLayout.Uid, RecordLayout.Euid, RecordLayout.Suid, RecordLayout.Fsuid }) builder.SetU32(at, uid);
            foreach (int at in new[] { RecordLayout.Gid, RecordLayout.Egid, RecordLayout.Sgid, RecordLayout.Fsgid }) builder.SetU32(at, uid);
            builder.SetU32(RecordLayout.Ses, (uint)random.Next(1, 20));
            int e = random.Next(100) < 2 ? 4 : random.Next(Exes.Length - 1) switch { 4 => 5, var k => k };
            builder.SetExe(Exes[e]);
            builder.SetComm(Comms[e]);
            offsets[i] = (int)buffer.Length;
            buffer.Write(builder.Build());
        }
        offsets[count] = (int)buffer.Length;
        return new RecordSet(buffer.ToArray(), offsets);
    }
}
