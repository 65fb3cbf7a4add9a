using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Filter.VM;
using L = Filter.Bytecode.RecordLayout;

namespace Filter.Bench;

/// <summary>A hand-written C# predicate over the record bytes: what a filter costs at best.</summary>
public interface IPredicate
{
    static abstract bool Match(ReadOnlySpan<byte> r);
}

/// <summary>
/// The benchmark filters written by hand, reading the same offsets with BinaryPrimitives and short-
/// circuiting like the bytecode. The syscall tests check the arch as the compiled code does.
/// </summary>
public static class Baselines
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static uint U32(ReadOnlySpan<byte> r, int at) => BinaryPrimitives.ReadUInt32LittleEndian(r[at..]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static ulong U64(ReadOnlySpan<byte> r, int at) => BinaryPrimitives.ReadUInt64LittleEndian(r[at..]);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] private static long S64(ReadOnlySpan<byte> r, int at) => BinaryPrimitives.ReadInt64LittleEndian(r[at..]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Lifecycle(ReadOnlySpan<byte> r)
    {
        uint nr = U32(r, L.Syscall);
        return U32(r, L.Arch) switch
        {
            AuditArch.X86_64 => nr is >= 56 and <= 60 or 231,
            AuditArch.I386 => nr is 1 or 2 or 11 or 120 or 190 or 252,
            AuditArch.Aarch64 => nr is 93 or 94 or 220 or 221,
            _ => false,
        };
    }

    public readonly struct LifecycleSet : IPredicate { public static bool Match(ReadOnlySpan<byte> r) => Lifecycle(r); }

    public readonly struct LifecycleNonRoot : IPredicate { public static bool Match(ReadOnlySpan<byte> r) => Lifecycle(r) && U32(r, L.Uid) != 0; }

    /// <summary>x86_64 only: the benchmark's records are all x86_64 (other arches answer false here).</summary>
    public readonly struct Allowlist : IPredicate
    {
        public static bool Match(ReadOnlySpan<byte> r) => U32(r, L.Arch) == AuditArch.X86_64 && U32(r, L.Syscall) switch
        {
            <= 14 or (>= 16 and <= 25) or 32 or 33 or 35 or 39 or (>= 41 and <= 45) or 202 or 228 or 231 or 232 or 257 or 318 => true,
            _ => false,
        };
    }

    public readonly struct ExeInTmp : IPredicate
    {
        public static bool Match(ReadOnlySpan<byte> r) => new Record(r).Exe.StartsWith("/tmp/"u8);
    }

    public readonly struct Deep : IPredicate
    {
        public static bool Match(ReadOnlySpan<byte> r)
        {
            return ((U32(r, L.Uid) == 0 || U32(r, L.Euid) == 0 || U32(r, L.Suid) == 0 || U32(r, L.Fsuid) == 0)
                    && r[L.Success] == 0 && S64(r, L.Exit) < -1 && S64(r, L.Exit) > -200)
                || (U32(r, L.Pid) > 1000 && U32(r, L.Ppid) != 1 && U32(r, L.Gid) >= 100 && U32(r, L.Egid) <= 60000 && U64(r, L.A0) == 3 && U64(r, L.A1) != 0)
                || (U32(r, L.Auid) != uint.MaxValue && U32(r, L.Ses) != uint.MaxValue && U32(r, L.Uid) != U32(r, L.Auid) && U64(r, L.A2) > 0x1000 && (U64(r, L.A3) & 4) != 0)
                || (U64(r, L.A4) < 10 && U64(r, L.A5) == 0 && U32(r, L.Sgid) == 0 && U32(r, L.Fsgid) == 0 && S64(r, L.Exit) == 0 && U32(r, L.Pid) < 50000)
                || (r[L.Success] != 0 && S64(r, L.Exit) > 0x7fffffff && U64(r, L.A0) >= 1 && U64(r, L.A0) <= 2 && U32(r, L.Uid) >= 1000 && U32(r, L.Uid) < 2000);
        }
    }
}
