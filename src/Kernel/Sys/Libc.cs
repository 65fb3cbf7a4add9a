using System.Runtime.InteropServices;

namespace Filter.Kernel.Sys;

/// <summary>
/// The C library calls the back end makes. No native library of ours: bpf(2) has no libc wrapper, so it
/// goes through <c>syscall(2)</c> (on x86_64 and arm64 a variadic call passes integer arguments exactly as a
/// fixed one does, and glibc's <c>syscall</c> reads no floating-point registers).
/// </summary>
internal static unsafe partial class Libc
{
    /// <summary>__NR_bpf: 321 on x86_64, 280 on arm64 (the generic table).</summary>
    public static readonly long BpfSyscall = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        _ => -1,
    };

    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, E2BIG = 7, EBADF = 9, EAGAIN = 11, ENOMEM = 12,
        EACCES = 13, EFAULT = 14, EBUSY = 16, EINVAL = 22, ENOSPC = 28, ENOSYS = 38, EOPNOTSUPP = 95;

    public const int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    public const short POLLIN = 1;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long cmd, void* attr, long size);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial void* Mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(void* address, nuint length);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    /// <summary><c>struct pollfd</c> (the same on every Linux architecture).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>The text of an errno value, as strerror gives it.</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
