using Filter.Kernel.Sys;

namespace Filter.Kernel.Maps;

/// <summary>A BPF map held by its descriptor: gone when disposed (and no program still uses it).</summary>
public sealed class BpfMap : IDisposable
{
    public KernelFd Fd { get; }
    public MapType Type { get; }
    public int KeySize { get; }
    public int ValueSize { get; }
    public int MaxEntries { get; }

    private BpfMap(KernelFd fd, MapType type, int keySize, int valueSize, int maxEntries)
    {
        Fd = fd;
        Type = type;
        KeySize = keySize;
        ValueSize = valueSize;
        MaxEntries = maxEntries;
    }

    public static KernelResult<BpfMap> Create(MapType type, int keySize, int valueSize, int maxEntries, string name, uint flags = 0)
    {
        var fd = Bpf.MapCreate(type, keySize, valueSize, maxEntries, flags, name);
        if (!fd.Ok) return fd.Error!;
        return new BpfMap(fd.Value, type, keySize, valueSize, maxEntries);
    }

    /// <summary>The bytes a lookup of one key fills: the value, or for per-CPU maps one 8-byte-aligned value per possible CPU.</summary>
    public int LookupSize => IsPerCpu ? Cpus.Possible * ((ValueSize + 7) & ~7) : ValueSize;

    public bool IsPerCpu => Type is MapType.PercpuArray or MapType.PercpuHash or MapType.LruPercpuHash;

    /// <summary>Looks <paramref name="key"/> up into <paramref name="value"/> (<see cref="LookupSize"/> bytes); false when absent. 0 or -errno.</summary>
    public unsafe int Lookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        if (key.Length != KeySize || value.Length < LookupSize) throw new ArgumentException("key or value buffer of the wrong size");
        fixed (byte* k = key) fixed (byte* v = value) return Bpf.MapLookup(Fd, k, v);
    }

    /// <summary>Writes a value (for per-CPU maps, <see cref="LookupSize"/> bytes: one per CPU). 0 or -errno.</summary>
    public unsafe int Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags = BpfConstants.ANY)
    {
        if (key.Length != KeySize || value.Length < (IsPerCpu ? LookupSize : ValueSize)) throw new ArgumentException("key or value buffer of the wrong size");
        fixed (byte* k = key) fixed (byte* v = value) return Bpf.MapUpdate(Fd, k, v, flags);
    }

    public void Dispose() => Fd.Dispose();
}

/// <summary>The CPUs a per-CPU map has a value for: those the kernel calls possible.</summary>
public static class Cpus
{
    public static int Possible { get; } = ReadPossible();

    /// <summary>Parses <c>/sys/devices/system/cpu/possible</c> ("0-3", "0,2-5"): the highest id plus one.</summary>
    private static int ReadPossible()
    {
        try { return Parse(File.ReadAllText("/sys/devices/system/cpu/possible")); }
        catch (IOException) { return Environment.ProcessorCount; }
        catch (UnauthorizedAccessException) { return Environment.ProcessorCount; }
    }

    internal static int Parse(string text)
    {
        int max = -1;
        foreach (var part in text.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-');
            max = Math.Max(max, int.Parse(bounds[^1], System.Globalization.CultureInfo.InvariantCulture));
        }
        return max + 1;
    }
}
