using System.Buffers.Binary;
using System.IO.Compression;

namespace Filter.Audit.Formats;

/// <summary>
/// Decompresses gzip (RFC 1952), member after member, and refuses what .NET's <see cref="GZipStream"/>
/// lets through silently: data that ends inside a member (cut after 60 bytes, mid-stream, or inside the
/// 8-byte trailer reads as a shorter log there, with no error) and data after the last member. It also
/// names what is wrong where zlib has one message for every error ("unsupported compression method"): a
/// bad header, corrupt deflate data, a CRC-32 or length that does not match the data. Every failure is an
/// <see cref="InvalidDataException"/> naming the member and the compressed offset; the readers report it
/// as an input that cannot be read to its end.
/// <para><b>How.</b> Headers and trailers are parsed here; the deflate data between them is inflated by a
/// raw <see cref="DeflateStream"/> reading from this object's buffer, at most <see cref="MaxChunk"/> bytes
/// at a time. A DeflateStream asks for input only once it has consumed all it was given, so when it ends
/// a member, the deflate data ends inside the last chunk it was given or right after it, and the trailer
/// follows; but the bytes it took and did not use stay inside it. So the trailer is found by value: the
/// CRC-32 and length of the data inflated, 8 bytes, looked for in that chunk. A false match inside the
/// deflate data has a probability under 2^-50 per member, and then the next header is wrong: an error,
/// never a silent loss. A DeflateStream that asked for more input and got none was cut short.</para>
/// </summary>
internal sealed class GzipInput : ReadOnlyStream
{
    /// <summary>Most compressed bytes handed to the inflater per read: bounds the search for a trailer.</summary>
    private const int MaxChunk = 1 << 14;
    private const int BufferSize = 1 << 16;
    private const byte FlagHeaderCrc = 2, FlagExtra = 4, FlagName = 8, FlagComment = 16, ReservedFlags = 0xe0;

    private readonly Stream _input;
    private readonly byte[] _buffer = new byte[BufferSize];
    // _buffer[_pos.._end) is unread input; _buffer[0] is at _bufferOffset in the compressed data.
    private int _pos, _end;
    private long _bufferOffset;
    private bool _inputEnded;

    private DeflateStream? _deflate;
    // The last chunk handed to the inflater, and whether it asked for more when there was none.
    private int _chunkStart, _chunkEnd;
    private bool _starved;
    private uint _crc, _size;
    private int _members;
    private bool _finished;

    /// <param name="input">The compressed data from its first byte (the gzip magic); owned, disposed with this.</param>
    public GzipInput(Stream input) => _input = input;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        while (!_finished)
        {
            if (_deflate is null && !StartMember())
            {
                _finished = true;
                break;
            }
            int n;
            try
            {
                n = _deflate!.Read(buffer);
            }
            catch (InvalidDataException)
            {
                throw Damaged($"the compressed data of gzip member {_members} is corrupt (invalid deflate data before compressed byte {_bufferOffset + _chunkEnd})");
            }
            if (n > 0)
            {
                _crc = Crc32.Append(_crc, buffer[..n]);
                _size += (uint)n;
                return n;
            }
            EndMember();
        }
        return 0;
    }

    /// <summary>Parses a member's header and starts inflating its data; false at the end of the input after a member.</summary>
    private bool StartMember()
    {
        long at = _bufferOffset + _pos;
        uint headerCrc = 0;
        int Next(string where)
        {
            if (!Ensure(_pos, 1)) throw Truncated($"inside the header of gzip member {_members + 1} ({where})");
            byte b = _buffer[_pos++];
            headerCrc = Crc32.Append(headerCrc, [b]);
            return b;
        }
        if (!Ensure(_pos, 1))
        {
            if (_members == 0) throw Damaged("the gzip data is empty");
            return false;
        }
        if (_buffer[_pos] == 0x1f && !Ensure(_pos, 2)) throw Truncated($"inside the header of gzip member {_members + 1} (magic)");
        if (_buffer[_pos] != 0x1f || _buffer[_pos + 1] != 0x8b)
            throw Damaged(_members == 0 ? "not gzip data (no 1f 8b magic)"
                : $"the data after gzip member {_members}, from compressed byte {at}, is not a gzip member");
        Next("magic");
        Next("magic");
        int method = Next("compression method");
        if (method != 8) throw Damaged($"gzip member {_members + 1} uses compression method {method}; gzip defines only 8 (deflate)");
        int flags = Next("flags");
        if ((flags & ReservedFlags) != 0) throw Damaged($"gzip member {_members + 1} has reserved header flags set (0x{flags:x2})");
        for (int i = 0; i < 6; i++) Next("time and OS");
        if ((flags & FlagExtra) != 0)
        {
            int length = Next("extra field") | Next("extra field") << 8;
            for (int i = 0; i < length; i++) Next("extra field");
        }
        if ((flags & FlagName) != 0) while (Next("file name") != 0) { }
        if ((flags & FlagComment) != 0) while (Next("comment") != 0) { }
        if ((flags & FlagHeaderCrc) != 0)
        {
            uint expected = headerCrc & 0xffff;
            uint stored = (uint)(Next("header CRC") | Next("header CRC") << 8);
            if (stored != expected) throw Damaged($"the header CRC of gzip member {_members + 1} does not match its header");
        }
        _members++;
        _crc = _size = 0;
        _starved = false;
        _chunkStart = _chunkEnd = _pos;
        _deflate = new DeflateStream(new Chunks(this), CompressionMode.Decompress);
        return true;
    }

    /// <summary>After the inflater ended a member: finds and checks its trailer, and moves past it.</summary>
    private void EndMember()
    {
        _deflate!.Dispose();
        _deflate = null;
        if (_starved) throw Truncated($"inside the compressed data of gzip member {_members}");
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], _size);
        Ensure(_chunkStart, _chunkEnd - _chunkStart + trailer.Length);
        var window = _buffer.AsSpan(_chunkStart, Math.Min(_end, _chunkEnd + trailer.Length) - _chunkStart);
        int found = window.IndexOf(trailer);
        if (found >= 0)
        {
            _pos = _chunkStart + found + trailer.Length;
            return;
        }
        // No trailer matches the data: say which half does not when the other is there, else whether the
        // input ends where the trailer should be.
        int crcAt = window.IndexOf(trailer[..4]), sizeAt = window.IndexOf(trailer[4..]);
        if (crcAt >= 0 && crcAt + trailer.Length <= window.Length)
            throw Damaged($"gzip member {_members} decompresses to {_size} bytes (mod 2^32), but its trailer says {BinaryPrimitives.ReadUInt32LittleEndian(window[(crcAt + 4)..])}");
        if (sizeAt >= 4)
            throw Damaged($"the CRC-32 of gzip member {_members} does not match its data (computed {_crc:x8}, stored {BinaryPrimitives.ReadUInt32LittleEndian(window[(sizeAt - 4)..]):x8})");
        if (_inputEnded && _end < _chunkEnd + trailer.Length)
            throw Truncated($"inside the trailer (CRC-32 and length) of gzip member {_members}");
        throw Damaged($"gzip member {_members} has no valid trailer where its data ends: the data is damaged");
    }

    /// <summary>
    /// Makes <c>_buffer[from .. from + count)</c> available, reading more input (and moving what is kept
    /// from <paramref name="from"/> on to the front); false if the input ends first.
    /// </summary>
    private bool Ensure(int from, int count)
    {
        while (_end - from < count)
        {
            if (_inputEnded) return false;
            if (_end == _buffer.Length)
            {
                _buffer.AsSpan(from, _end - from).CopyTo(_buffer);
                _bufferOffset += from;
                _pos -= from;
                _chunkStart -= from;
                _chunkEnd -= from;
                _end -= from;
                from = 0;
            }
            int n = _input.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0) _inputEnded = true;
            _end += n;
        }
        return true;
    }

    private static InvalidDataException Damaged(string message) => new(message);

    private InvalidDataException Truncated(string where) =>
        new($"the gzip data is truncated: it ends {where}, after {_bufferOffset + _end} compressed bytes");

    /// <summary>The compressed data as the inflater reads it: the owner's buffer, a chunk at a time.</summary>
    private sealed class Chunks(GzipInput owner) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            if (!owner.Ensure(owner._pos, 1))
            {
                owner._starved = true;
                return 0;
            }
            int n = Math.Min(buffer.Length, Math.Min(MaxChunk, owner._end - owner._pos));
            owner._buffer.AsSpan(owner._pos, n).CopyTo(buffer);
            owner._chunkStart = owner._pos;
            owner._pos += n;
            owner._chunkEnd = owner._pos;
            return n;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _deflate?.Dispose();
            _input.Dispose();
        }
        base.Dispose(disposing);
    }
}
