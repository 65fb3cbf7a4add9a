using System.IO.Compression;
using System.Text;
using Filter.Audit.Formats;
using Xunit;

namespace Filter.Tests.Formats;

/// <summary>
/// Gzip input (<see cref="AuditdInput.Decompressing"/>): every valid file reads exactly; every cut or
/// damaged one fails with a message that says what is wrong, never a shorter log without an error.
/// </summary>
public class GzipInputTests
{
    private static byte[] Gzip(byte[] data, CompressionLevel level = CompressionLevel.Optimal)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true)) gzip.Write(data);
        return output.ToArray();
    }

    private static byte[] Decompress(byte[] compressed, int chunk = int.MaxValue)
    {
        using var input = AuditdInput.Decompressing(new ChunkedStream(compressed, chunk));
        var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static string Failure(byte[] compressed) =>
        Assert.Throws<InvalidDataException>(() => Decompress(compressed)).Message;

    /// <summary>A log-like text: repetitive lines with varying numbers, compressing as audit logs do.</summary>
    private static byte[] LogText(int lines, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (int i = 0; i < lines; i++)
            text.Append($"type=SYSCALL msg=audit(1795731042.{random.Next(1000):D3}:{565481 + i}): arch=c000003e syscall={random.Next(400)} a0={random.NextInt64():x}\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    public static TheoryData<int, int> Sizes => new() { { 1, 0 }, { 10, 1 }, { 3_000, 2 }, { 40_000, 3 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ValidDataReadsExactlyAtAnyReadSize(int lines, int seed)
    {
        var data = LogText(lines, seed);
        foreach (var level in new[] { CompressionLevel.NoCompression, CompressionLevel.Fastest, CompressionLevel.SmallestSize })
            foreach (int chunk in new[] { int.MaxValue, 4096, 7, 1 })
                if (chunk > 1 || data.Length < 100_000)
                    Assert.Equal(data, Decompress(Gzip(data, level), chunk));
    }

    [Fact]
    public void RandomAndEmptyDataRoundTrip()
    {
        var random = new Random(15);
        foreach (int size in new[] { 0, 1, 100, 65_535, 65_536, 300_000 })
        {
            var data = new byte[size];
            random.NextBytes(data);
            Assert.Equal(data, Decompress(Gzip(data)));
        }
    }

    [Fact]
    public void ConcatenatedMembersReadAsOneStream()
    {
        byte[] a = LogText(2_000, 4), b = LogText(1, 5), c = LogText(5_000, 6);
        Assert.Equal([.. a, .. b, .. c], Decompress([.. Gzip(a), .. Gzip(b), .. Gzip(c, CompressionLevel.Fastest)], 100));
        Assert.Equal([.. a, .. a], Decompress([.. Gzip([]), .. Gzip(a), .. Gzip([]), .. Gzip(a)]));
    }

    [Fact]
    public void OptionalHeaderFieldsAreSkippedAndTheHeaderCrcChecked()
    {
        var data = LogText(100, 7);
        var plain = Gzip(data);
        // FEXTRA, FNAME, FCOMMENT and FHCRC, as gzip -N and other writers may set them.
        var header = new List<byte>(plain[..10]) { [3] = 4 | 8 | 16 | 2 };
        header.AddRange([3, 0, (byte)'a', (byte)'b', (byte)'c']);
        header.AddRange("audit.log\0"u8.ToArray());
        header.AddRange("a comment\0"u8.ToArray());
        byte[] full = [.. header];
        uint crc = Crc(full);
        byte[] file = [.. full, (byte)crc, (byte)(crc >> 8), .. plain[10..]];
        Assert.Equal(data, Decompress(file, 3));
        file[full.Length] ^= 1;
        Assert.Contains("header CRC of gzip member 1 does not match", Failure(file));
    }

    /// <summary>The CRC-32 of gzip, computed the slow way (bit by bit) so it checks the reader's table-driven one.</summary>
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xffffffff;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void EveryCutIsAnError()
    {
        // GZipStream read a file cut after 60 bytes as empty, and one cut mid-stream as a shorter log.
        var data = LogText(300, 8);
        byte[] one = Gzip(data), file = [.. one, .. Gzip(LogText(50, 9))];
        for (int length = 2; length < file.Length; length++)
        {
            if (length == one.Length) continue; // the end of the first member: a whole file
            var message = Failure(file[..length]);
            Assert.True(message.StartsWith("the gzip data is truncated: it ends inside the ", StringComparison.Ordinal), $"cut at {length}: {message}");
            Assert.EndsWith($"after {length} compressed bytes", message);
        }
        Assert.Equal(data, Decompress(file[..one.Length]));
        Assert.Equal("the gzip data is truncated: it ends inside the compressed data of gzip member 1, after 60 compressed bytes", Failure(one[..60]));
    }

    [Fact]
    public void DamageIsNamed()
    {
        var data = LogText(3_000, 10);
        var file = Gzip(data);
        var crc = (byte[])file.Clone();
        crc[^6] ^= 0x55;
        Assert.StartsWith("the CRC-32 of gzip member 1 does not match its data (computed ", Failure(crc));
        var size = (byte[])file.Clone();
        size[^2] ^= 0x55;
        Assert.StartsWith($"gzip member 1 decompresses to {data.Length} bytes (mod 2^32), but its trailer says ", Failure(size));
        var method = (byte[])file.Clone();
        method[2] = 7;
        Assert.Equal("gzip member 1 uses compression method 7; gzip defines only 8 (deflate)", Failure(method));
        Assert.Equal($"the data after gzip member 1, from compressed byte {file.Length}, is not a gzip member", Failure([.. file, 0, 0, 0, 0]));
        var flags = (byte[])file.Clone();
        flags[3] = 0x80;
        Assert.Equal("gzip member 1 has reserved header flags set (0x80)", Failure(flags));
    }

    [Fact]
    public void NoSingleByteChangeGoesUnnoticed()
    {
        // Every byte of a small file flipped in turn: an error, or (in the time, XFL and OS bytes of the
        // header, which mean nothing to the data) the same data. Never other data without an error.
        var data = LogText(200, 11);
        var file = Gzip(data);
        // (Bytes 0 and 1 are the magic: without it the input is not gzip, and is read as it is.)
        for (int i = 2; i < file.Length; i++)
        {
            var damaged = (byte[])file.Clone();
            damaged[i] ^= 0x5a;
            byte[]? read = null;
            try { read = Decompress(damaged); }
            catch (InvalidDataException) { }
            if (read is not null) Assert.True(i is >= 4 and < 10 && read.AsSpan().SequenceEqual(data), $"byte {i} changed the data without an error");
        }
    }
}
