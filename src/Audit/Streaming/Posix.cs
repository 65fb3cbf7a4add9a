using System.Runtime.InteropServices;

namespace Filter.Audit.Streaming;

/// <summary>The C library calls the stream inputs make: waiting on a descriptor, and a file's identity.</summary>
internal static unsafe partial class Posix
{
    private const short POLLIN = 1;
    private const int EINTR = 4, FIONREAD = 0x541B, AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, STATX_INO = 0x100, STATX_SIZE = 0x200;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, int* value);

    // statx(2): its struct is the same on every architecture (include/uapi/linux/stat.h), unlike struct stat.
    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, byte* buffer);

    /// <summary>
    /// Whether <paramref name="fd"/> has data to read (or its end, or an error) within
    /// <paramref name="timeoutMs"/> milliseconds (0: now, without waiting).
    /// </summary>
    public static bool Readable(int fd, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = POLLIN };
        while (true)
        {
            int n = Poll(&p, 1, timeoutMs);
            if (n >= 0) return n > 0;
            if (Marshal.GetLastPInvokeError() != EINTR) return true; // let the read report it
        }
    }

    /// <summary>How many bytes <paramref name="fd"/> (a pipe, socket or terminal) holds ready to read now; 0 if it cannot say.</summary>
    public static int Pending(int fd)
    {
        int bytes = 0;
        return Ioctl(fd, FIONREAD, &bytes) == 0 ? bytes : 0;
    }

    /// <summary>A file's identity (device and inode) and size, of an open descriptor or of a path; null if there is none.</summary>
    public static (ulong Device, ulong Inode, long Size)? Identity(int fd) => Identity(fd, "", AT_EMPTY_PATH);

    public static (ulong Device, ulong Inode, long Size)? Identity(string path) => Identity(AT_FDCWD, path, 0);

    private static (ulong Device, ulong Inode, long Size)? Identity(int dirFd, string path, int flags)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(dirFd, path, flags, STATX_INO | STATX_SIZE, buffer) != 0) return null;
        // struct statx: stx_ino at 32, stx_size at 40, stx_dev_major and stx_dev_minor at 136 and 140.
        ulong inode = *(ulong*)(buffer + 32);
        long size = *(long*)(buffer + 40);
        ulong device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        return (device, inode, size);
    }
}
