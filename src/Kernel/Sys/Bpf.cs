using System.Runtime.InteropServices;

namespace Filter.Kernel.Sys;

/// <summary>
/// The bpf(2) commands the back end uses, each filling the generated attribute struct of its command
/// (<see cref="MapCreateAttr"/>, <see cref="ProgLoadAttr"/>, ...). Each returns a result or the errno, never
/// throws for a kernel error.
/// </summary>
public static unsafe class Bpf
{
    /// <summary>Runs one command; the result (an fd or 0) or -errno. EINTR and EAGAIN are retried a few times, as the kernel may return them for a load interrupted by a signal.</summary>
    public static int Call<T>(BpfCommand command, ref T attr) where T : unmanaged
    {
        if (Libc.BpfSyscall < 0) return -Libc.ENOSYS;
        for (int attempt = 0; ; attempt++)
        {
            long r;
            fixed (T* p = &attr) r = Libc.Syscall(Libc.BpfSyscall, (long)command, p, sizeof(T));
            if (r >= 0) return (int)r;
            int errno = Marshal.GetLastPInvokeError();
            if ((errno != Libc.EINTR && errno != Libc.EAGAIN) || attempt >= 4) return -errno;
        }
    }

    /// <summary>A new fd for a kernel object, or the error (named by <paramref name="what"/>).</summary>
    internal static KernelResult<KernelFd> Fd<T>(BpfCommand command, ref T attr, string what) where T : unmanaged
    {
        int r = Call(command, ref attr);
        return r < 0 ? KernelError.FromErrno(what, -r) : new KernelFd(r);
    }

    internal static void WriteName(byte* destination, string name)
    {
        // Object names are at most 15 characters of [A-Za-z0-9_.] plus NUL.
        int n = 0;
        foreach (char c in name)
        {
            if (n == BpfConstants.OBJ_NAME_LEN - 1) break;
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.') destination[n++] = (byte)c;
        }
        destination[n] = 0;
    }

    public static KernelResult<KernelFd> MapCreate(MapType type, int keySize, int valueSize, int maxEntries, uint flags, string name)
    {
        var attr = new MapCreateAttr { MapType = (uint)type, KeySize = (uint)keySize, ValueSize = (uint)valueSize, MaxEntries = (uint)maxEntries, MapFlags = flags };
        WriteName(attr.MapName, name);
        return Fd(BpfCommand.MapCreate, ref attr, $"create the BPF map '{name}' ({type})");
    }

    public static int MapLookup(KernelFd map, void* key, void* value)
    {
        var attr = new MapElemAttr { MapFd = (uint)map.Value, Key = (ulong)key, Value = (ulong)value };
        return Call(BpfCommand.MapLookupElem, ref attr);
    }

    public static int MapUpdate(KernelFd map, void* key, void* value, ulong flags)
    {
        var attr = new MapElemAttr { MapFd = (uint)map.Value, Key = (ulong)key, Value = (ulong)value, Flags = flags };
        return Call(BpfCommand.MapUpdateElem, ref attr);
    }

    /// <summary>The id after <paramref name="startId"/> of a loaded program (0 when there is none).</summary>
    public static uint NextProgramId(uint startId)
    {
        var attr = new GetIdAttr { StartId = startId };
        return Call(BpfCommand.ProgGetNextId, ref attr) < 0 ? 0 : attr.NextId;
    }

    /// <summary>Every loaded program's id, in order.</summary>
    public static List<uint> ProgramIds()
    {
        var ids = new List<uint>();
        for (uint id = NextProgramId(0); id != 0; id = NextProgramId(id)) ids.Add(id);
        return ids;
    }

    /// <summary>The name of the loaded program with this id, or null when there is none (any more).</summary>
    public static string? ProgramName(uint id)
    {
        var attr = new GetIdAttr { ProgId = id };
        int fd = Call(BpfCommand.ProgGetFdById, ref attr);
        if (fd < 0) return null;
        using var handle = new KernelFd(fd);
        if (ProgramInfo(handle, out var info) < 0) return null;
        var name = new ReadOnlySpan<byte>(info.Name, (int)BpfConstants.OBJ_NAME_LEN);
        int nul = name.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(nul < 0 ? name : name[..nul]);
    }

    public static int ProgramInfo(KernelFd program, out ProgInfo info)
    {
        info = default;
        fixed (ProgInfo* p = &info)
        {
            var attr = new InfoAttr { BpfFd = (uint)program.Value, InfoLen = (uint)sizeof(ProgInfo), Info = (ulong)p };
            return Call(BpfCommand.ObjGetInfoByFd, ref attr);
        }
    }

    /// <summary>Turns on the kernel's per-program run time and count statistics while the returned fd is open.</summary>
    public static KernelResult<KernelFd> EnableRunTimeStats()
    {
        var attr = new EnableStatsAttr { Type = (uint)StatsType.RunTime };
        return Fd(BpfCommand.EnableStats, ref attr, "enable BPF run-time statistics");
    }
}
