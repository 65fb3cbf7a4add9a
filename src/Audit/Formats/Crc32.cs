using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Filter.Audit.Formats;

/// <summary>
/// CRC-32 as gzip (RFC 1952) and zlib compute it: polynomial 0xEDB88320 (reflected), pre- and
/// post-inverted. (.NET's own CRC-32 is in System.IO.Hashing, a package this project does not take.)
/// With PCLMULQDQ, 16 bytes at a time by carry-less multiplication ("folding", as in Intel's paper on
/// CRC with PCLMULQDQ and the Linux kernel's crc32-pclmul); otherwise, and for the last bytes, eight
/// bytes at a time with eight tables ("slicing by 8").
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC of <paramref name="data"/> appended to data whose CRC is <paramref name="crc"/> (0 for none).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) =>
        ~(Pclmulqdq.IsSupported && data.Length >= 32 ? Folded(~crc, data) : Sliced(~crc, data));

    /// <summary>
    /// Folding: a 128-bit remainder X stands for all the data before the next block; X·x^128 + block is
    /// congruent (mod P) to X.lo·(x^128 mod P) + X.hi·(x^192 mod P) + block, two carry-less products. The
    /// final X is worth its 16 bytes as data, so the table finishes from a zero state over them and the tail.
    /// </summary>
    private static uint Folded(uint state, ReadOnlySpan<byte> data)
    {
        // x^(128+32) and x^(128-32) mod P, bit-reflected (the fold-by-one constants of the kernel's crc32-pclmul).
        var k = Vector128.Create(0x1751997d0UL, 0x0ccaa009eUL);
        ref byte start = ref MemoryMarshal.GetReference(data);
        var x = Vector128.LoadUnsafe(ref start).AsUInt64() ^ Vector128.CreateScalar((ulong)state);
        int at = 16;
        for (; at + 16 <= data.Length; at += 16)
            x = Pclmulqdq.CarrylessMultiply(x, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(x, k, 0x11)
                ^ Vector128.LoadUnsafe(ref start, (nuint)at).AsUInt64();
        Span<byte> remainder = stackalloc byte[16];
        x.AsByte().CopyTo(remainder);
        return Sliced(Sliced(0, remainder), data[at..]);
    }

    /// <summary>Slicing by 8 on the inverted state (table k, at 256·k, steps a byte followed by k zero bytes).</summary>
    private static uint Sliced(uint c, ReadOnlySpan<byte> data)
    {
        var t = Table;
        while (data.Length >= 8)
        {
            uint lo = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ c;
            uint hi = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            c = t[0x700 + (lo & 0xff)] ^ t[0x600 + ((lo >> 8) & 0xff)] ^ t[0x500 + ((lo >> 16) & 0xff)] ^ t[0x400 + (lo >> 24)]
              ^ t[0x300 + (hi & 0xff)] ^ t[0x200 + ((hi >> 8) & 0xff)] ^ t[0x100 + ((hi >> 16) & 0xff)] ^ t[hi >> 24];
            data = data[8..];
        }
        foreach (byte b in data) c = t[(c ^ b) & 0xff] ^ (c >> 8);
        return c;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (int k = 1; k < 8; k++)
            for (int i = 0; i < 256; i++)
                t[256 * k + i] = (t[256 * (k - 1) + i] >> 8) ^ t[t[256 * (k - 1) + i] & 0xff];
        return t;
    }
}
