using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Filter.Compiler.Tables;
using Filter.VM;
using L = Filter.Bytecode.RecordLayout;

namespace Filter.Bench;

/// <summary>
/// A real peer for the filter benchmarks: libpcap's C classic-BPF interpreter
/// <c>u_int bpf_filter(const struct bpf_insn *pc, const u_char *pkt, u_int wirelen, u_int buflen)</c>
/// (Debian package <c>libpcap0.8</c>), reached through a function pointer so that a missing library is a
/// message, not a crash.
/// </summary>
/// <remarks>
/// The pointer is <c>unmanaged[SuppressGCTransition]</c>: <c>bpf_filter</c> runs tens of nanoseconds, never
/// blocks, calls back or throws, so the peer is measured without the P/Invoke GC transition (a few ns per
/// call that would flatter our engines). <see cref="TransitionVariable"/>=1 measures it with the transition.
/// </remarks>
public static unsafe class PcapPeer
{
    public const string DefaultLibrary = "libpcap.so.0.8";
    /// <summary>Overrides the library name or path (set it to a missing file to exercise the skip path).</summary>
    public const string LibraryVariable = "FILTER_BENCH_LIBPCAP";
    /// <summary>1: call bpf_filter with the ordinary P/Invoke GC transition.</summary>
    public const string TransitionVariable = "FILTER_BENCH_PCAP_TRANSITION";

    private static readonly Lazy<(nint Filter, nint Validate, string Message)> Loaded = new(Load);

    public static bool IsAvailable => Loaded.Value.Filter != 0;

    /// <summary>Why the peer is or is not there, for the benchmark's log.</summary>
    public static string Status => Loaded.Value.Message;

    private static (nint, nint, string) Load()
    {
        string name = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } v ? v : DefaultLibrary;
        if (!NativeLibrary.TryLoad(name, out nint handle))
            return (0, 0, $"libpcap column skipped: could not load '{name}' (install the Debian package libpcap0.8).");
        if (!NativeLibrary.TryGetExport(handle, "bpf_filter", out nint filter) || !NativeLibrary.TryGetExport(handle, "bpf_validate", out nint validate))
            return (0, 0, $"libpcap column skipped: '{name}' has no bpf_filter/bpf_validate export.");
        return (filter, validate, $"libpcap peer: bpf_filter from '{name}'.");
    }

    /// <summary>bpf_filter, without the GC transition (see remarks).</summary>
    public static delegate* unmanaged[SuppressGCTransition]<BpfInsn*, byte*, uint, uint, uint> Filter =>
        (delegate* unmanaged[SuppressGCTransition]<BpfInsn*, byte*, uint, uint, uint>)Loaded.Value.Filter;

    /// <summary>bpf_filter with the ordinary transition.</summary>
    public static delegate* unmanaged<BpfInsn*, byte*, uint, uint, uint> FilterWithTransition =>
        (delegate* unmanaged<BpfInsn*, byte*, uint, uint, uint>)Loaded.Value.Filter;

    /// <summary>libpcap's own check (<c>int bpf_validate(const struct bpf_insn *f, int len)</c>): valid opcodes, jumps in range, ends in a return.</summary>
    public static bool Validate(BpfInsn[] program)
    {
        fixed (BpfInsn* p = program)
            return ((delegate* unmanaged<BpfInsn*, int, int>)Loaded.Value.Validate)(p, program.Length) != 0;
    }

    /// <summary>One call, for setup checks.</summary>
    public static uint Run(BpfInsn[] program, ReadOnlySpan<byte> record)
    {
        fixed (BpfInsn* p = program)
        fixed (byte* r = record)
            return Filter(p, r, (uint)record.Length, (uint)record.Length);
    }
}

/// <summary><c>struct bpf_insn { u_short code; u_char jt; u_char jf; bpf_u_int32 k; }</c>: 8 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct BpfInsn(ushort Code, byte Jt, byte Jf, uint K)
{
    // Classic BPF opcode parts (include/pcap/bpf.h).
    public const ushort Ld = 0x00, Alu = 0x04, Jmp = 0x05, Ret = 0x06, Misc = 0x07;
    public const ushort W = 0x00, H = 0x08, B = 0x10, Abs = 0x20, Ind = 0x40;
    public const ushort And = 0x50, Xor = 0xa0;
    public const ushort Jeq = 0x10, Jgt = 0x20, Jge = 0x30, Jset = 0x40;
    public const ushort K_ = 0x00, X_ = 0x08;
    public const ushort Tax = 0x00;

    public override string ToString() => $"{{ 0x{Code:x2}, {Jt}, {Jf}, 0x{K:x8} }}";
}

/// <summary>
/// The records as the peer reads them: <c>struct seccomp_data</c> followed by the audit fields seccomp does
/// not have, one fixed-size slot per record.
/// </summary>
/// <remarks>
/// <para>Byte order: the kernel's seccomp reads <c>seccomp_data</c> in host order, but libpcap's
/// <c>bpf_filter</c> reads <c>ld [k]</c> words big-endian (network order, <c>EXTRACT_BE_U_4</c>). So every
/// 32-bit word here is stored big-endian, making <c>ld [k]</c> return the value the kernel would load on
/// x86_64. A 64-bit field keeps x86_64's word order (low word at +0, high word at +4), so the offsets are
/// the ones a real seccomp filter uses (libseccomp's <c>args[i]</c> low/high).</para>
/// <para>Layout (stride 136 bytes):</para>
/// <code>
///   0 nr            4 arch          8 instruction_pointer (0: audit records have none)
///  16 args[0..5]    (low word, high word each)
///  -- extension: seccomp_data has no credentials, exit, success or strings --
///  64 uid   68 euid  72 suid  76 fsuid  80 gid  84 egid  88 sgid  92 fsgid
///  96 pid  100 ppid 104 auid 108 ses   112 success (0/1)  116 zero
/// 120 exit (s64: low word, high word)
/// 128 exe descriptor: offset (u16), length (u16), as in our records    132 zero
/// 136 exe bytes (at most 32)
/// </code>
/// <para>Like our engines, the cBPF program follows the descriptor (<c>ldh</c> the length and offset,
/// <c>tax</c>, <c>ld [x + 0]</c>): the same work on the same bytes, rather than a prefix copied into the
/// slot at a fixed offset (which no engine reading our records could use).</para>
/// </remarks>
public static class SeccompRecords
{
    public const int Nr = 0, Arch = 4, Args = 16;
    public const int Uid = 64, Euid = 68, Suid = 72, Fsuid = 76, Gid = 80, Egid = 84, Sgid = 88, Fsgid = 92;
    public const int Pid = 96, Ppid = 100, Auid = 104, Ses = 108, Success = 112, Exit = 120;
    public const int ExeOffset = 128, ExeLength = 130, ExeBytes = 136, ExeMax = 32;
    public const int Stride = ExeBytes + ExeMax;

    public static int Arg(int i) => Args + 8 * i;

    private static readonly (int To, int From)[] Credentials =
    [
        (Uid, L.Uid), (Euid, L.Euid), (Suid, L.Suid), (Fsuid, L.Fsuid), (Gid, L.Gid), (Egid, L.Egid),
        (Sgid, L.Sgid), (Fsgid, L.Fsgid), (Pid, L.Pid), (Ppid, L.Ppid), (Auid, L.Auid), (Ses, L.Ses),
    ];

    private static void Word(Span<byte> slot, int at, uint value) => BinaryPrimitives.WriteUInt32BigEndian(slot[at..], value);

    private static void Long(Span<byte> slot, int at, ulong value)
    {
        Word(slot, at, (uint)value);
        Word(slot, at + 4, (uint)(value >> 32));
    }

    /// <summary>All records, slot i at <c>i * Stride</c>, in a pinned array (the benchmark passes pointers into it).</summary>
    public static byte[] Convert(RecordSet records)
    {
        var slots = GC.AllocateArray<byte>(records.Count * Stride, pinned: true);
        for (int i = 0; i < records.Count; i++) Write(new Record(records[i]), slots.AsSpan(i * Stride, Stride));
        return slots;
    }

    public static void Write(Record r, Span<byte> slot)
    {
        slot.Clear();
        Word(slot, Nr, r.Syscall);
        Word(slot, Arch, r.Arch);
        for (int a = 0; a < 6; a++) Long(slot, Arg(a), r.U64(L.A0 + 8 * a));
        foreach (var (to, from) in Credentials) Word(slot, to, r.U32(from));
        Word(slot, Success, r.Bytes[L.Success]);
        Long(slot, Exit, (ulong)r.Exit);
        var exe = r.Exe;
        if (exe.Length > ExeMax) throw new ArgumentException($"exe is {exe.Length} bytes; the slot holds {ExeMax}");
        BinaryPrimitives.WriteUInt16BigEndian(slot[ExeOffset..], ExeBytes);
        BinaryPrimitives.WriteUInt16BigEndian(slot[ExeLength..], (ushort)exe.Length);
        exe.CopyTo(slot[ExeBytes..]);
    }
}

/// <summary>
/// The five benchmark filters written by hand in classic BPF, as seccomp filters are written: load the
/// arch, dispatch on it, load the field, compare, <c>ret #1</c> / <c>ret #0</c>.
/// </summary>
/// <remarks>
/// <para>Syscall sets (<c>lifecycle</c>, <c>allowlist40</c>) are resolved per arch from the same generated
/// tables the compiler uses, for all three arches the language knows, so the programs are equivalent on
/// every record (not only the benchmark's x86_64 ones). By default a set is a binary search over its
/// sorted ranges, as a careful hand-writer (or libseccomp's binary-tree optimisation) would emit it;
/// <see cref="SetFormVariable"/>=linear gives libseccomp's default form, one <c>jeq</c> per syscall in the
/// filter's order.</para>
/// <para>64-bit tests compare the high word, then the low word (libseccomp's shape). cBPF compares are
/// unsigned, so signed tests on <c>exit</c> flip the sign bit of the high word first (<c>xor #0x80000000</c>)
/// and compare against the equally flipped constant.</para>
/// </remarks>
public static class CbpfPrograms
{
    public const string SetFormVariable = "FILTER_BENCH_PCAP_SETS";

    private static readonly string[] LifecycleNames = ["fork", "vfork", "clone", "execve", "exit", "exit_group"];

    private static readonly string[] AllowlistNames =
    [
        "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap", "mprotect", "munmap", "brk",
        "rt_sigaction", "rt_sigprocmask", "ioctl", "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select",
        "sched_yield", "mremap", "dup", "dup2", "nanosleep", "getpid", "socket", "connect", "accept", "sendto", "recvfrom",
        "clock_gettime", "openat", "futex", "epoll_wait", "exit_group", "getrandom",
    ];

    public static bool LinearSets => Environment.GetEnvironmentVariable(SetFormVariable) == "linear";

    public static BpfInsn[] Build(string filterName) => filterName switch
    {
        "lifecycle" => SyscallSet(LifecycleNames, uidNotRoot: false),
        "lifecycle_uid" => SyscallSet(LifecycleNames, uidNotRoot: true),
        "allowlist40" => SyscallSet(AllowlistNames, uidNotRoot: false),
        "exe_tmp" => ExeInTmp(),
        "deep30" => Deep(),
        _ => throw new ArgumentException($"no classic-BPF program for filter '{filterName}'", nameof(filterName)),
    };

    /// <summary><c>syscall in (names)</c>, optionally <c>&amp;&amp; uid != 0</c>.</summary>
    private static BpfInsn[] SyscallSet(string[] names, bool uidNotRoot)
    {
        var a = new CbpfAssembler();
        Label yes = a.NewLabel(), no = a.NewLabel();
        a.Ld(SeccompRecords.Arch);
        foreach (var (_, arch) in AuditArch.All)
        {
            Label thisArch = a.NewLabel(), nextArch = a.NewLabel();
            a.Jeq(arch, thisArch, nextArch);
            a.Mark(thisArch);
            a.Ld(SeccompRecords.Nr);
            var numbers = names.Select(n => Syscalls.TryGetNumber(arch, n, out int nr) ? nr : -1).Where(nr => nr >= 0).Select(nr => (uint)nr).ToArray();
            if (LinearSets) a.InLinear(numbers, yes, no);
            else a.InTree(numbers, yes, no);
            a.Mark(nextArch);
        }
        a.Ret(0); // unknown arch
        a.Mark(yes);
        if (uidNotRoot)
        {
            Label accept = a.NewLabel();
            a.Ld(SeccompRecords.Uid);
            a.Jeq(0, no, accept);
            a.Mark(accept);
        }
        a.Ret(1);
        a.Mark(no);
        a.Ret(0);
        return a.Build();
    }

    /// <summary><c>exe startswith "/tmp/"</c>: length at least 5, then through the descriptor the word "/tmp" and the byte '/'.</summary>
    private static BpfInsn[] ExeInTmp()
    {
        var a = new CbpfAssembler();
        Label follow = a.NewLabel(), word2 = a.NewLabel(), yes = a.NewLabel(), no = a.NewLabel();
        a.Ldh(SeccompRecords.ExeLength);
        a.Jge(5, follow, no);
        a.Mark(follow);
        a.Ldh(SeccompRecords.ExeOffset);
        a.Tax();
        a.LdInd(0);
        a.Jeq(0x2f746d70, word2, no); // "/tmp"
        a.Mark(word2);
        a.LdbInd(4);
        a.Jeq('/', yes, no);
        a.Mark(yes);
        a.Ret(1);
        a.Mark(no);
        a.Ret(0);
        return a.Build();
    }

    /// <summary>
    /// deep30: five ||-ed groups of &amp;&amp;-ed comparisons (FilterBenchmarks.Filters["deep30"]). A failed
    /// test jumps to the next group, the last test of a group to <c>ret #1</c>.
    /// </summary>
    private static BpfInsn[] Deep()
    {
        const int S = SeccompRecords.Exit;
        var a = new CbpfAssembler();
        Label yes = a.NewLabel(), no = a.NewLabel(), g2 = a.NewLabel(), g3 = a.NewLabel(), g4 = a.NewLabel(), g5 = a.NewLabel();
        Label next;

        // (uid == 0 || euid == 0 || suid == 0 || fsuid == 0) && !success && exit < -1 && exit > -200
        Label root = a.NewLabel();
        foreach (int at in new[] { SeccompRecords.Uid, SeccompRecords.Euid, SeccompRecords.Suid })
        {
            next = a.NewLabel();
            a.Ld(at); a.Jeq(0, root, next); a.Mark(next);
        }
        a.Ld(SeccompRecords.Fsuid); a.Jeq(0, root, g2);
        a.Mark(root);
        next = a.NewLabel(); a.Ld(SeccompRecords.Success); a.Jeq(0, next, g2); a.Mark(next);
        next = a.NewLabel(); a.Lt64(S, unchecked((ulong)-1L), signed: true, next, g2); a.Mark(next);
        a.Gt64(S, unchecked((ulong)-200L), signed: true, yes, g2);

        // pid > 1000 && ppid != 1 && gid >= 100 && egid <= 60000 && a0 == 3 && a1 != 0
        a.Mark(g2);
        next = a.NewLabel(); a.Ld(SeccompRecords.Pid); a.Jgt(1000, next, g3); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Ppid); a.Jeq(1, g3, next); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Gid); a.Jge(100, next, g3); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Egid); a.Jgt(60000, g3, next); a.Mark(next);
        next = a.NewLabel(); a.Eq64(SeccompRecords.Arg(0), 3, next, g3); a.Mark(next);
        a.Eq64(SeccompRecords.Arg(1), 0, g3, yes);

        // auid != 4294967295 && ses != 4294967295 && uid != auid && a2 > 0x1000 && a3 & 4 != 0
        a.Mark(g3);
        next = a.NewLabel(); a.Ld(SeccompRecords.Auid); a.Jeq(uint.MaxValue, g4, next); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Ses); a.Jeq(uint.MaxValue, g4, next); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Uid); a.Tax(); a.Ld(SeccompRecords.Auid); a.JeqX(g4, next); a.Mark(next);
        next = a.NewLabel(); a.Gt64(SeccompRecords.Arg(2), 0x1000, signed: false, next, g4); a.Mark(next);
        a.Ld(SeccompRecords.Arg(3)); a.Jset(4, yes, g4); // 4 lies in the low word

        // a4 < 10 && a5 == 0 && sgid == 0 && fsgid == 0 && exit == 0 && pid < 50000
        a.Mark(g4);
        next = a.NewLabel(); a.Lt64(SeccompRecords.Arg(4), 10, signed: false, next, g5); a.Mark(next);
        next = a.NewLabel(); a.Eq64(SeccompRecords.Arg(5), 0, next, g5); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Sgid); a.Jeq(0, next, g5); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Fsgid); a.Jeq(0, next, g5); a.Mark(next);
        next = a.NewLabel(); a.Eq64(S, 0, next, g5); a.Mark(next);
        a.Ld(SeccompRecords.Pid); a.Jge(50000, g5, yes);

        // success && exit > 0x7fffffff && a0 >= 1 && a0 <= 2 && uid >= 1000 && uid < 2000
        a.Mark(g5);
        next = a.NewLabel(); a.Ld(SeccompRecords.Success); a.Jeq(0, no, next); a.Mark(next);
        next = a.NewLabel(); a.Gt64(S, 0x7fffffff, signed: true, next, no); a.Mark(next);
        next = a.NewLabel(); a.Ge64(SeccompRecords.Arg(0), 1, next, no); a.Mark(next);
        next = a.NewLabel(); a.Gt64(SeccompRecords.Arg(0), 2, signed: false, no, next); a.Mark(next);
        next = a.NewLabel(); a.Ld(SeccompRecords.Uid); a.Jge(1000, next, no); a.Mark(next);
        a.Jge(2000, no, yes); // A still holds uid

        a.Mark(yes);
        a.Ret(1);
        a.Mark(no);
        a.Ret(0);
        return a.Build();
    }
}

/// <summary>A jump target in <see cref="CbpfAssembler"/>; classic BPF conditional jumps go forward only, at most 255 instructions.</summary>
public readonly record struct Label(int Id);

/// <summary>
/// A small classic-BPF assembler with forward labels, so the hand-written programs above name their targets
/// instead of counting instructions (what <c>bpf_asm</c> does for kernel filters).
/// </summary>
public sealed class CbpfAssembler
{
    private readonly List<(ushort Code, Label? Jt, Label? Jf, uint K)> _code = [];
    private readonly List<int> _labels = [];

    public Label NewLabel() { _labels.Add(-1); return new Label(_labels.Count - 1); }

    public void Mark(Label label)
    {
        if (_labels[label.Id] >= 0) throw new InvalidOperationException($"label {label.Id} marked twice");
        _labels[label.Id] = _code.Count;
    }

    private void Emit(ushort code, uint k = 0, Label? jt = null, Label? jf = null) => _code.Add((code, jt, jf, k));

    public void Ld(int offset) => Emit(BpfInsn.Ld | BpfInsn.W | BpfInsn.Abs, (uint)offset);
    public void Ldb(int offset) => Emit(BpfInsn.Ld | BpfInsn.B | BpfInsn.Abs, (uint)offset);
    public void Ldh(int offset) => Emit(BpfInsn.Ld | BpfInsn.H | BpfInsn.Abs, (uint)offset);
    /// <summary><c>ld [x + k]</c>: a word at X + k (bounds-checked by bpf_filter against the slot's length).</summary>
    public void LdInd(int k) => Emit(BpfInsn.Ld | BpfInsn.W | BpfInsn.Ind, (uint)k);
    public void LdbInd(int k) => Emit(BpfInsn.Ld | BpfInsn.B | BpfInsn.Ind, (uint)k);
    public void AndK(uint k) => Emit(BpfInsn.Alu | BpfInsn.And | BpfInsn.K_, k);
    public void XorK(uint k) => Emit(BpfInsn.Alu | BpfInsn.Xor | BpfInsn.K_, k);
    public void Tax() => Emit(BpfInsn.Misc | BpfInsn.Tax);
    public void Ret(uint k) => Emit(BpfInsn.Ret | BpfInsn.K_, k);
    public void Jeq(uint k, Label t, Label f) => Emit(BpfInsn.Jmp | BpfInsn.Jeq | BpfInsn.K_, k, t, f);
    public void Jgt(uint k, Label t, Label f) => Emit(BpfInsn.Jmp | BpfInsn.Jgt | BpfInsn.K_, k, t, f);
    public void Jge(uint k, Label t, Label f) => Emit(BpfInsn.Jmp | BpfInsn.Jge | BpfInsn.K_, k, t, f);
    public void Jset(uint k, Label t, Label f) => Emit(BpfInsn.Jmp | BpfInsn.Jset | BpfInsn.K_, k, t, f);
    public void JeqX(Label t, Label f) => Emit(BpfInsn.Jmp | BpfInsn.Jeq | BpfInsn.X_, 0, t, f);

    // 64-bit fields: low word at `at`, high word at `at + 4` (SeccompRecords).
    private const uint SignBit = 0x80000000;

    private void LoadHigh(int at, bool signed)
    {
        Ld(at + 4);
        if (signed) XorK(SignBit);
    }

    private static uint High(ulong k, bool signed) => (uint)(k >> 32) ^ (signed ? SignBit : 0);

    /// <summary>field == k: both words equal.</summary>
    public void Eq64(int at, ulong k, Label t, Label f)
    {
        Label low = NewLabel();
        Ld(at + 4); Jeq((uint)(k >> 32), low, f);
        Mark(low);
        Ld(at); Jeq((uint)k, t, f);
    }

    /// <summary>field &gt; k: high word greater, or equal and low word greater.</summary>
    public void Gt64(int at, ulong k, bool signed, Label t, Label f) => Above(at, k, signed, orEqual: false, t, f);

    /// <summary>field &gt;= k (unsigned).</summary>
    public void Ge64(int at, ulong k, Label t, Label f) => Above(at, k, signed: false, orEqual: true, t, f);

    /// <summary>field &lt; k: not field &gt;= k.</summary>
    public void Lt64(int at, ulong k, bool signed, Label t, Label f) => Above(at, k, signed, orEqual: true, f, t);

    private void Above(int at, ulong k, bool signed, bool orEqual, Label t, Label f)
    {
        Label notAbove = NewLabel(), low = NewLabel();
        uint high = High(k, signed);
        LoadHigh(at, signed);
        Jgt(high, t, notAbove);
        Mark(notAbove);
        Jeq(high, low, f);
        Mark(low);
        Ld(at);
        if (orEqual) Jge((uint)k, t, f);
        else Jgt((uint)k, t, f);
    }

    /// <summary>A in numbers: one <c>jeq</c> per member, in the given order (libseccomp's default form).</summary>
    public void InLinear(IReadOnlyList<uint> numbers, Label yes, Label no)
    {
        for (int i = 0; i < numbers.Count; i++)
        {
            Label next = i == numbers.Count - 1 ? no : NewLabel();
            Jeq(numbers[i], yes, next);
            if (i < numbers.Count - 1) Mark(next);
        }
        if (numbers.Count == 0) Jeq(0, no, no); // an arch with none of the names
    }

    /// <summary>A in numbers: a binary search over the sorted, merged ranges; leaves of at most two ranges.</summary>
    public void InTree(IReadOnlyList<uint> numbers, Label yes, Label no)
    {
        var sorted = numbers.Distinct().Order().ToArray();
        var ranges = new List<(uint Lo, uint Hi)>();
        foreach (uint n in sorted)
            if (ranges.Count > 0 && ranges[^1].Hi + 1 == n) ranges[^1] = (ranges[^1].Lo, n);
            else ranges.Add((n, n));
        if (ranges.Count == 0) Jeq(0, no, no); // an arch with none of the names
        else Search(ranges, 0, ranges.Count, boundedAbove: false, yes, no);
    }

    // Invariant: A lies above every range before `from`; if `boundedAbove`, also A <= ranges[to - 1].Hi
    // (a left subtree), so the last range needs no upper test.
    private void Search(List<(uint Lo, uint Hi)> ranges, int from, int to, bool boundedAbove, Label yes, Label no)
    {
        if (to - from <= 2)
        {
            for (int i = from; i < to; i++)
            {
                var (lo, hi) = ranges[i];
                bool last = i == to - 1;
                Label above = last ? no : NewLabel();
                if (last && boundedAbove)
                {
                    if (lo == 0) Jeq(0, yes, yes); // 0 <= A <= hi: always in (a jump both ways is cBPF's ja to a label)
                    else Jge(lo, yes, no);
                }
                else if (lo == 0) Jgt(hi, above, yes); // 0 <= A <= hi
                else
                {
                    Label inRange = NewLabel();
                    Jgt(hi, above, inRange);           // above this range: try the next one
                    Mark(inRange);
                    Jge(lo, yes, no);                  // below lo: in the gap before this range
                }
                if (!last) Mark(above);
            }
            return;
        }
        int mid = (from + to) / 2;
        Label right = NewLabel(), left = NewLabel();
        Jgt(ranges[mid - 1].Hi, right, left);
        Mark(left);
        Search(ranges, from, mid, boundedAbove: true, yes, no);
        Mark(right);
        Search(ranges, mid, to, boundedAbove, yes, no);
    }

    public BpfInsn[] Build()
    {
        var program = new BpfInsn[_code.Count];
        for (int pc = 0; pc < _code.Count; pc++)
        {
            var (code, jt, jf, k) = _code[pc];
            program[pc] = new BpfInsn(code, Offset(pc, jt), Offset(pc, jf), k);
        }
        return program;
    }

    private byte Offset(int pc, Label? label)
    {
        if (label is not { } l) return 0;
        int target = _labels[l.Id];
        if (target < 0) throw new InvalidOperationException($"pc {pc}: label {l.Id} never marked");
        int offset = target - pc - 1;
        if (offset is < 0 or > 255) throw new InvalidOperationException($"pc {pc}: jump to {target} is not forward within 255 instructions");
        return (byte)offset;
    }
}
