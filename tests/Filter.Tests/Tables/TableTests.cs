using Filter.Compiler.Tables;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Tables;

/// <summary>
/// The generated syscall and constant tables against an independent source, auditd's
/// <c>ausyscall --dump</c> (saved in Data/ausyscall from auditd 3.0.9), plus spot checks.
/// </summary>
public class TableTests
{
    /// <summary>
    /// Entries where ausyscall's name is not the kernel's: (arch, ausyscall name) -> the kernel
    /// table's name at that number, or null where the kernel table has no entry there.
    /// </summary>
    private static readonly Dictionary<(string Arch, string Name), string?> KnownAusyscallDifferences = new()
    {
        [("x86_64", "pread")] = "pread64",
        [("x86_64", "pwrite")] = "pwrite64",
        [("i386", "sys_kexec_load")] = "kexec_load",
        [("i386", "sched_rr_get_interval64")] = "sched_rr_get_interval_time64",
        [("aarch64", "getdents")] = "getdents64",
        [("aarch64", "pread")] = "pread64",
        [("aarch64", "pwrite")] = "pwrite64",
        [("aarch64", "newfstat")] = "fstat",
        // 42 was a sys_ni_syscall slot in asm-generic/unistd.h; scripts/syscall.tbl (6.11+) has no line for it.
        [("aarch64", "nfsservctl")] = null,
    };

    /// <summary>ausyscall 3.0.9's tables stop at 450; ours add the newer syscalls and the kernel spellings above.</summary>
    private const int MaxOursNotInAusyscall = 24;

    private static List<(int Number, string Name)> ReadAusyscall(string arch)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Data", "ausyscall", arch + ".txt");
        var lines = File.ReadAllLines(path);
        Assert.StartsWith("Using ", lines[0]); // the header line ausyscall prints before the table
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var parts = l.Split('\t');
            return (int.Parse(parts[0]), parts[1]);
        }).ToList();
    }

    private static uint Arch(string name)
    {
        Assert.True(AuditArch.TryParse(name, out uint value), name);
        return value;
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("i386")]
    [InlineData("aarch64")]
    public void EveryAusyscallEntryIsInOurTable(string arch)
    {
        uint auditArch = Arch(arch);
        var ausyscall = ReadAusyscall(arch);
        var failures = new List<string>();
        foreach (var (number, name) in ausyscall)
        {
            if (KnownAusyscallDifferences.TryGetValue((arch, name), out var kernelName))
            {
                if (Syscalls.NameOf(auditArch, number) != kernelName)
                    failures.Add($"{number} {name}: expected the kernel's {kernelName ?? "(none)"}, ours is {Syscalls.NameOf(auditArch, number) ?? "(none)"}");
            }
            else if (!Syscalls.TryGetNumber(auditArch, name, out int ours) || ours != number)
            {
                failures.Add($"{number} {name}: ours is {(Syscalls.TryGetNumber(auditArch, name, out ours) ? ours.ToString() : "(none)")}");
            }
        }

        var ausyscallNames = ausyscall.Select(e => e.Name).ToHashSet();
        var oursOnly = Syscalls.ForArch(auditArch).Where(e => !ausyscallNames.Contains(e.Name)).ToList();
        string oursOnlyText = string.Join(", ", oursOnly.Select(e => $"{e.Number} {e.Name}"));

        Assert.True(failures.Count == 0,
            $"{arch}: ausyscall entries that disagree with our table:\n  {string.Join("\n  ", failures)}\nours not in ausyscall: {oursOnlyText}");
        Assert.True(oursOnly.Count <= MaxOursNotInAusyscall, $"{arch}: {oursOnly.Count} of ours are not in ausyscall: {oursOnlyText}");
    }

    [Fact]
    public void KnownAusyscallDifferencesAreStillInTheData()
    {
        foreach (var (arch, name) in KnownAusyscallDifferences.Keys)
            Assert.Contains(ReadAusyscall(arch), e => e.Name == name);
    }

    [Theory]
    [InlineData("x86_64")]
    [InlineData("i386")]
    [InlineData("aarch64")]
    public void TableIsSortedUniqueAndRoundTrips(string arch)
    {
        uint auditArch = Arch(arch);
        var table = Syscalls.ForArch(auditArch);
        Assert.NotEmpty(table);
        for (int i = 1; i < table.Count; i++)
            Assert.True(table[i - 1].Number < table[i].Number, $"{arch}: {table[i - 1]} then {table[i]}");
        Assert.Equal(table.Count, table.Select(e => e.Name).Distinct().Count());
        foreach (var (name, number) in table)
        {
            Assert.True(Syscalls.TryGetNumber(auditArch, name, out int n) && n == number, $"{arch}: {name}");
            Assert.Equal(name, Syscalls.NameOf(auditArch, number));
            Assert.True(Syscalls.IsKnown(name));
            Assert.Contains(name, Syscalls.AllNames);
        }
    }

    [Theory]
    [InlineData("x86_64", "openat", 257)]
    [InlineData("i386", "openat", 295)]
    [InlineData("aarch64", "openat", 56)]
    [InlineData("x86_64", "execve", 59)]
    [InlineData("i386", "execve", 11)]
    [InlineData("aarch64", "execve", 221)]
    [InlineData("x86_64", "open", 2)]
    [InlineData("i386", "open", 5)]
    [InlineData("aarch64", "clone", 220)]
    [InlineData("x86_64", "read", 0)]
    [InlineData("aarch64", "renameat", 38)] // arm64 keeps the legacy renameat/getrlimit abis
    [InlineData("aarch64", "getrlimit", 163)]
    [InlineData("aarch64", "memfd_secret", 447)]
    public void SyscallNumbers(string arch, string name, int expected)
    {
        Assert.True(Syscalls.TryGetNumber(Arch(arch), name, out int number), $"{arch}: {name} missing");
        Assert.Equal(expected, number);
        Assert.Equal(name, Syscalls.NameOf(Arch(arch), expected));
    }

    [Theory]
    [InlineData("aarch64", "open")]
    [InlineData("aarch64", "fork")]
    [InlineData("aarch64", "fcntl64")] // the generic table's 32-bit-only variant
    [InlineData("x86_64", "socketcall")] // i386 only
    [InlineData("i386", "newfstatat")] // i386 has fstatat64
    public void SyscallAbsent(string arch, string name) =>
        Assert.False(Syscalls.TryGetNumber(Arch(arch), name, out _));

    [Fact]
    public void X32OnlyNumbersAreNotInX86_64() =>
        Assert.DoesNotContain(Syscalls.ForArch(AuditArch.X86_64), e => e.Number >= 512);

    [Fact]
    public void UnknownArchitecture()
    {
        Assert.Empty(Syscalls.ForArch(0));
        Assert.False(Syscalls.TryGetNumber(0, "read", out _));
        Assert.Null(Syscalls.NameOf(0, 0));
    }

    [Fact]
    public void IsKnownIsTheUnionOverArchitectures()
    {
        Assert.True(Syscalls.IsKnown("open")); // not on aarch64, but on x86_64 and i386
        Assert.True(Syscalls.IsKnown("socketcall")); // i386 only
        Assert.False(Syscalls.IsKnown("no_such_syscall"));
        Assert.False(Syscalls.IsKnown("OPENAT")); // names are case-sensitive
    }

    [Theory]
    [InlineData("EACCES", 13ul, ConstantKind.Errno)]
    [InlineData("ENOENT", 2ul, ConstantKind.Errno)]
    [InlineData("EPERM", 1ul, ConstantKind.Errno)]
    [InlineData("EWOULDBLOCK", 11ul, ConstantKind.Errno)] // alias of EAGAIN
    [InlineData("EHWPOISON", 133ul, ConstantKind.Errno)]
    [InlineData("SIGSEGV", 11ul, ConstantKind.Signal)]
    [InlineData("SIGKILL", 9ul, ConstantKind.Signal)]
    [InlineData("SIGSYS", 31ul, ConstantKind.Signal)]
    [InlineData("SIGIOT", 6ul, ConstantKind.Signal)]
    [InlineData("O_CREAT", 0x40ul, ConstantKind.OpenFlag)]
    [InlineData("O_WRONLY", 1ul, ConstantKind.OpenFlag)]
    [InlineData("O_RDWR", 2ul, ConstantKind.OpenFlag)]
    [InlineData("O_TRUNC", 0x200ul, ConstantKind.OpenFlag)]
    [InlineData("O_APPEND", 0x400ul, ConstantKind.OpenFlag)]
    [InlineData("O_EXCL", 0x80ul, ConstantKind.OpenFlag)]
    [InlineData("O_NONBLOCK", 0x800ul, ConstantKind.OpenFlag)]
    [InlineData("O_CLOEXEC", 0x80000ul, ConstantKind.OpenFlag)]
    [InlineData("O_SYNC", 0x101000ul, ConstantKind.OpenFlag)]
    [InlineData("CLONE_THREAD", 0x10000ul, ConstantKind.CloneFlag)]
    [InlineData("CLONE_VM", 0x100ul, ConstantKind.CloneFlag)]
    [InlineData("CLONE_NEWNS", 0x20000ul, ConstantKind.CloneFlag)]
    [InlineData("CLONE_INTO_CGROUP", 0x200000000ul, ConstantKind.CloneFlag)]
    public void NamedConstant(string name, ulong expected, ConstantKind expectedKind)
    {
        Assert.True(NamedConstants.TryGet(name, out ulong value, out var kind), $"{name} missing");
        Assert.Equal(expected, value);
        Assert.Equal(expectedKind, kind);
        Assert.Contains(name, NamedConstants.AllNames);
    }

    [Theory]
    [InlineData("O_DIRECTORY")] // arm64 gives these four other values than x86
    [InlineData("O_NOFOLLOW")]
    [InlineData("O_DIRECT")]
    [InlineData("O_LARGEFILE")]
    [InlineData("O_TMPFILE")] // includes O_DIRECTORY
    [InlineData("SIGRTMIN")]
    [InlineData("SIGPOLL")] // defined as SIGIO, not a number
    [InlineData("SIGSTKSZ")]
    [InlineData("CLONE_ARGS_SIZE_VER0")]
    [InlineData("CSIGNAL")]
    [InlineData("eacces")]
    public void NotANamedConstant(string name) =>
        Assert.False(NamedConstants.TryGet(name, out _, out _));

    [Fact]
    public void CloneFlagsAreSingleBits()
    {
        var clone = NamedConstants.AllNames.Where(n => n.StartsWith("CLONE_", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(clone);
        foreach (var name in clone)
        {
            Assert.True(NamedConstants.TryGet(name, out ulong value, out _));
            Assert.True(ulong.IsPow2(value), $"{name} = {value:x}");
        }
    }
}
