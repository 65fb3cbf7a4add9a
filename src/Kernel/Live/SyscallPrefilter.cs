using Filter.Kernel.Asm;
using Filter.Kernel.Translate;

namespace Filter.Kernel.Live;

/// <summary>
/// The first test of the live programs: the syscall numbers the filter may match (its
/// <see cref="SyscallMatchTable"/>, for the arches a task of this machine can call with: x86_64 and i386),
/// as a compare tree, so that every other system call on the machine costs a few compares and nothing else.
/// </summary>
internal sealed class SyscallPrefilter
{
    /// <summary>Numbers either arch may match: the first test, before anything is known of the task.</summary>
    public IReadOnlyList<ValueRange> Ranges { get; }
    /// <summary>Numbers a 64-bit and a 32-bit (compat) call may match: the test once the arch is known.</summary>
    public IReadOnlyList<ValueRange> Native { get; }
    public IReadOnlyList<ValueRange> Compat { get; }

    /// <summary>
    /// Calls whose arguments the exit cannot see, so that sys_enter keeps them: a successful exec resets the
    /// registers, a signal return restores others; and a new task's first return from fork reaches sys_exit
    /// without having entered (audit records nothing for it): the entry tells them apart.
    /// </summary>
    public static readonly string[] EntryCalls = ["execve", "execveat", "fork", "vfork", "clone", "clone3", "rt_sigreturn", "sigreturn"];

    /// <summary>Of those, the ones the filter may match, per arch (empty: no sys_enter program at all).</summary>
    public IReadOnlyList<ValueRange> EntryNative { get; }
    public IReadOnlyList<ValueRange> EntryCompat { get; }
    public IReadOnlyList<ValueRange> EntryAny { get; }
    public bool NeedsEntry => EntryAny.Count > 0;

    public SyscallPrefilter(SyscallMatchTable matches)
    {
        Native = RangesOf(n => matches.MayMatch(AuditArch.X86_64, n));
        Compat = RangesOf(n => matches.MayMatch(AuditArch.I386, n));
        Ranges = RangesOf(n => matches.MayMatch(AuditArch.X86_64, n) || matches.MayMatch(AuditArch.I386, n));
        var native = EntryNumbers(AuditArch.X86_64);
        var compat = EntryNumbers(AuditArch.I386);
        EntryNative = RangesOf(n => native.Contains(n) && matches.MayMatch(AuditArch.X86_64, n));
        EntryCompat = RangesOf(n => compat.Contains(n) && matches.MayMatch(AuditArch.I386, n));
        EntryAny = RangesOf(n => (native.Contains(n) && matches.MayMatch(AuditArch.X86_64, n)) || (compat.Contains(n) && matches.MayMatch(AuditArch.I386, n)));
    }

    private static HashSet<uint> EntryNumbers(uint arch) =>
        [.. EntryCalls.Select(name => Syscalls.TryGetNumber(arch, name, out int n) ? n : -1).Where(n => n >= 0).Select(n => (uint)n)];

    private static List<ValueRange> RangesOf(Func<uint, bool> may)
    {
        var ranges = new List<ValueRange>();
        for (uint n = 0; n < SyscallMatchTable.SyscallLimit; n++)
        {
            if (!may(n)) continue;
            if (ranges.Count > 0 && ranges[^1].Hi == n - 1) ranges[^1] = ranges[^1] with { Hi = n };
            else ranges.Add(new(n, n));
        }
        // Every larger number (x32 calls, numbers no table has yet) shares one answer.
        if (may(SyscallMatchTable.SyscallLimit))
        {
            if (ranges.Count > 0 && ranges[^1].Hi == SyscallMatchTable.SyscallLimit - 1) ranges[^1] = ranges[^1] with { Hi = ulong.MaxValue };
            else ranges.Add(new(SyscallMatchTable.SyscallLimit, ulong.MaxValue));
        }
        return ranges;
    }

    /// <summary>Jumps to <paramref name="candidate"/> when the number in <paramref name="nr"/> is in <paramref name="ranges"/>, else to <paramref name="other"/>.</summary>
    public static void Emit(BpfAssembler asm, IReadOnlyList<ValueRange> ranges, Reg nr, Reg scratch, Label candidate, Label other)
    {
        if (ranges is [{ Lo: 0, Hi: ulong.MaxValue }]) asm.Goto(candidate);
        else CompareTree.Emit(asm, ranges, signed: false, nr, scratch, candidate, other);
    }
}
