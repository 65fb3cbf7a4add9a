using System.Runtime.InteropServices;

namespace Filter.Audit.Live;

/// <summary>
/// Netlink framing (include/uapi/linux/netlink.h): every message starts with a 16-byte <c>struct nlmsghdr</c>
/// (u32 length including the header, u16 type, u16 flags, u32 sequence, u32 sender port), and messages in one
/// datagram are 4-byte aligned. Host byte order. Pure functions: the unit tests run them on captured bytes.
/// </summary>
public static class Netlink
{
    public const int HeaderSize = 16;
    public const ushort Error = 2, Done = 3;
    public const ushort FlagRequest = 1, FlagAck = 4;

    public static int Align(int length) => (length + 3) & ~3;

    /// <summary>One message of a datagram: its header fields and where its payload lies in the datagram.</summary>
    public readonly record struct Message(ushort Type, ushort Flags, uint Sequence, uint PortId, int PayloadOffset, int PayloadLength);

    /// <summary>
    /// The message at <paramref name="offset"/>, and the offset of the next one. False at the end of the
    /// datagram, or when the header's length is impossible (shorter than the header or past the end).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> datagram, ref int offset, out Message message)
    {
        message = default;
        if (datagram.Length - offset < HeaderSize) return false;
        var h = datagram[offset..];
        uint length = MemoryMarshal.Read<uint>(h);
        if (length < HeaderSize || length > (uint)(datagram.Length - offset)) return false;
        message = new Message(MemoryMarshal.Read<ushort>(h[4..]), MemoryMarshal.Read<ushort>(h[6..]),
            MemoryMarshal.Read<uint>(h[8..]), MemoryMarshal.Read<uint>(h[12..]),
            offset + HeaderSize, (int)length - HeaderSize);
        offset = Math.Min(datagram.Length, offset + Align((int)length));
        return true;
    }

    /// <summary>A request: header plus payload, padded to the alignment.</summary>
    public static byte[] Build(ushort type, ushort flags, uint sequence, ReadOnlySpan<byte> payload)
    {
        var message = new byte[Align(HeaderSize + payload.Length)];
        MemoryMarshal.Write(message, (uint)(HeaderSize + payload.Length));
        MemoryMarshal.Write(message.AsSpan(4), type);
        MemoryMarshal.Write(message.AsSpan(6), flags);
        MemoryMarshal.Write(message.AsSpan(8), sequence);
        payload.CopyTo(message.AsSpan(HeaderSize));
        return message;
    }

    /// <summary>The errno of an <see cref="Error"/> message's payload (<c>struct nlmsgerr</c>: int error, then the request's header); 0 is an ACK.</summary>
    public static int ErrorCode(ReadOnlySpan<byte> payload) =>
        payload.Length >= 4 ? -MemoryMarshal.Read<int>(payload) : 0;

    /// <summary>The sequence number of the request an <see cref="Error"/> message answers (from the copied header).</summary>
    public static uint ErrorSequence(ReadOnlySpan<byte> payload) =>
        payload.Length >= 4 + HeaderSize ? MemoryMarshal.Read<uint>(payload[(4 + 8)..]) : 0;
}

/// <summary>A <c>NETLINK_AUDIT</c> socket, through libc. Not thread-safe; one owner at a time.</summary>
internal sealed partial class NetlinkSocket : IDisposable
{
    private const int AF_NETLINK = 16, SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000, NETLINK_AUDIT = 9;
    private const int SOL_SOCKET = 1, SO_RCVBUF = 8, SO_RCVTIMEO = 20, SO_RCVBUFFORCE = 33, SO_MEMINFO = 55;
    // include/uapi/linux/sock_diag.h: the u32s SO_MEMINFO fills; SK_MEMINFO_DROPS is sk->sk_drops.
    private const int SK_MEMINFO_DROPS = 8, SK_MEMINFO_VARS = 9;
    private const int SOL_NETLINK = 270, NETLINK_ADD_MEMBERSHIP = 1;
    public const int EINTR = 4, EAGAIN = 11, ENOBUFS = 105, EPERM = 1, EACCES = 13, EPROTONOSUPPORT = 93, ECONNREFUSED = 111;

    private int _fd;

    private NetlinkSocket(int fd) => _fd = fd;

    /// <summary>A new socket bound to a kernel-chosen port. Throws <see cref="AuditUnavailableException"/>.</summary>
    public static NetlinkSocket Open()
    {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
        if (fd < 0) throw AuditUnavailableException.FromErrno("open a NETLINK_AUDIT socket", Marshal.GetLastPInvokeError());
        var s = new NetlinkSocket(fd);
        try
        {
            Span<byte> address = stackalloc byte[12]; // struct sockaddr_nl: family, pad, pid 0 (kernel chooses), groups 0
            MemoryMarshal.Write(address, (ushort)AF_NETLINK);
            s.Check(Bind(fd, address), "bind the NETLINK_AUDIT socket");
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Joins a multicast group (the audit read-log group needs CAP_AUDIT_READ).</summary>
    public void Join(int group, string what) => Check(SetInt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group), what);

    /// <summary>Asks for a receive buffer of <paramref name="bytes"/>: past the system maximum if privileged, else up to it.</summary>
    public void SetReceiveBuffer(int bytes)
    {
        if (SetInt(SOL_SOCKET, SO_RCVBUFFORCE, bytes) != 0) SetInt(SOL_SOCKET, SO_RCVBUF, bytes);
    }

    /// <summary>Makes <see cref="Receive"/> give up after <paramref name="timeout"/> (EAGAIN).</summary>
    public unsafe void SetReceiveTimeout(TimeSpan timeout)
    {
        long* tv = stackalloc long[2];
        tv[0] = (long)timeout.TotalSeconds;
        tv[1] = (long)(timeout.Ticks % TimeSpan.TicksPerSecond / 10);
        Check(setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16), "set the receive timeout");
    }

    /// <summary>Receives one datagram: its length, or -errno (EAGAIN on timeout, ENOBUFS after an overrun).</summary>
    public unsafe int Receive(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            nint n = recv(_fd, p, buffer.Length, 0);
            return n >= 0 ? (int)n : -Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>
    /// How many messages the kernel dropped for this socket since it was opened (<c>sk_drops</c>, read with
    /// SO_MEMINFO): netlink counts one for each message it could not queue because the receive buffer
    /// was full (net/netlink/af_netlink.c <c>netlink_overrun</c>), which is what an ENOBUFS reports. Null if
    /// the kernel cannot tell (before Linux 4.12).
    /// </summary>
    public unsafe uint? Drops()
    {
        uint* meminfo = stackalloc uint[SK_MEMINFO_VARS];
        int length = SK_MEMINFO_VARS * sizeof(uint);
        if (getsockopt(_fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) != 0 || length <= SK_MEMINFO_DROPS * sizeof(uint)) return null;
        return meminfo[SK_MEMINFO_DROPS];
    }

    /// <summary>Sends a message to the kernel (port 0).</summary>
    public unsafe void Send(ReadOnlySpan<byte> message, string what)
    {
        byte* address = stackalloc byte[12];
        new Span<byte>(address, 12).Clear();
        *(ushort*)address = AF_NETLINK;
        fixed (byte* p = message)
        {
            while (true)
            {
                nint n = sendto(_fd, p, message.Length, 0, address, 12);
                if (n >= 0) return;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw AuditUnavailableException.FromErrno(what, errno);
            }
        }
    }

    private unsafe int SetInt(int level, int name, int value) => setsockopt(_fd, level, name, &value, sizeof(int));

    private static unsafe int Bind(int fd, ReadOnlySpan<byte> address)
    {
        fixed (byte* p = address) return bind(fd, p, address.Length);
    }

    private void Check(int rc, string what)
    {
        if (rc != 0) throw AuditUnavailableException.FromErrno(what, Marshal.GetLastPInvokeError());
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close(fd);
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    private static unsafe partial int bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    private static unsafe partial int getsockopt(int fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    private static unsafe partial nint sendto(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);
}

/// <summary>
/// Kernel audit cannot be used from this process: no capability, no audit support in the kernel, or a
/// failed request. <see cref="Exception.Message"/> is one line a user can act on.
/// </summary>
public sealed class AuditUnavailableException(string message, int errno) : Exception(message)
{
    /// <summary>The errno behind it (EPERM: a missing capability).</summary>
    public int Errno { get; } = errno;

    internal static AuditUnavailableException FromErrno(string what, int errno) => new(errno switch
    {
        NetlinkSocket.EPERM or NetlinkSocket.EACCES =>
            $"cannot {what}: permission denied (reading the audit stream needs CAP_AUDIT_READ, querying status and rules CAP_AUDIT_CONTROL: run as root)",
        NetlinkSocket.EPROTONOSUPPORT => $"cannot {what}: this kernel has no audit support (CONFIG_AUDIT)",
        _ => $"cannot {what}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})",
    }, errno);
}
