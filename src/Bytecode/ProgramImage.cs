using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Text;

namespace Filter.Bytecode;

/// <summary>
/// A decoded but unverified program: code, set and string constants, and the key of each verdict.
/// What the code generator and the assembler produce, what the disassembler prints; only
/// <c>Verifier.Verify</c> turns its bytes into something an engine runs. The file format is in
/// spec/bytecode.md. Immutable all the way down (the constructor copies what it is given), so a verified
/// program's image cannot be changed after verification.
/// </summary>
public sealed class ProgramImage
{
    public static ReadOnlySpan<byte> Magic => "AFLT"u8;
    public const ushort Version = 1;
    public const int HeaderSize = 32;

    public IReadOnlyList<Instruction> Code { get; }
    public IReadOnlyList<ValueSet> Sets { get; }
    public IReadOnlyList<ImmutableArray<byte>> Strings { get; }
    /// <summary>Keys of verdicts 1..Keys.Count (verdict 0 is "no match"); "" for an anonymous rule.</summary>
    public IReadOnlyList<string> Keys { get; }

    public ProgramImage(IEnumerable<Instruction> code, IEnumerable<ValueSet> sets, IEnumerable<IEnumerable<byte>> strings, IEnumerable<string> keys)
    {
        Code = code.ToImmutableArray();
        Sets = sets.ToImmutableArray();
        Strings = strings.Select(s => s.ToImmutableArray()).ToImmutableArray();
        Keys = keys.ToImmutableArray();
    }

    /// <summary>A decoded image: its arrays are new and nobody else's, so they are kept, not copied.</summary>
    private ProgramImage(Instruction[] code, ValueSet[] sets, byte[][] strings, string[] keys)
    {
        Code = ImmutableCollectionsMarshal.AsImmutableArray(code);
        Sets = ImmutableCollectionsMarshal.AsImmutableArray(sets);
        Strings = ImmutableCollectionsMarshal.AsImmutableArray(Array.ConvertAll(strings, ImmutableCollectionsMarshal.AsImmutableArray));
        Keys = ImmutableCollectionsMarshal.AsImmutableArray(keys);
    }

    public int VerdictCount => Keys.Count;

    public byte[] Encode()
    {
        var keyBytes = Keys.Select(Encoding.UTF8.GetBytes).ToArray();
        int size = HeaderSize + Code.Count * InstructionSet.InstructionSize
            + Sets.Sum(s => 8 + s.Ranges.Count * 16)
            + Strings.Sum(s => 4 + s.Length)
            + keyBytes.Sum(k => 4 + k.Length);
        var bytes = new byte[size];
        var w = bytes.AsSpan();
        Magic.CopyTo(w);
        BinaryPrimitives.WriteUInt16LittleEndian(w[4..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(w[8..], (uint)Code.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(w[12..], (uint)Sets.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(w[16..], (uint)Strings.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(w[20..], (uint)Keys.Count);
        int at = HeaderSize;
        foreach (var insn in Code)
        {
            insn.WriteTo(w[at..]);
            at += InstructionSet.InstructionSize;
        }
        foreach (var set in Sets)
        {
            w[at] = set.Signed ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteUInt32LittleEndian(w[(at + 4)..], (uint)set.Ranges.Count);
            at += 8;
            foreach (var r in set.Ranges)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(w[at..], r.Lo);
                BinaryPrimitives.WriteUInt64LittleEndian(w[(at + 8)..], r.Hi);
                at += 16;
            }
        }
        foreach (var blob in Strings.Concat(keyBytes.Select(k => k.ToImmutableArray())))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(w[at..], (uint)blob.Length);
            blob.AsSpan().CopyTo(w[(at + 4)..]);
            at += 4 + blob.Length;
        }
        return bytes;
    }

    /// <summary>
    /// Decodes the container. Structure only: it checks that every count and length fits in the input
    /// (so a hostile file cannot make it allocate more than a small multiple of its own size) and that
    /// nothing trails the last section. Whether the program is safe to run is the verifier's question.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ProgramImage image, out string error)
    {
        image = null!;
        if (bytes.Length < HeaderSize) { error = $"file is {bytes.Length} bytes, shorter than the {HeaderSize}-byte header"; return false; }
        if (!bytes[..4].SequenceEqual(Magic)) { error = "not a filter program (bad magic; expected \"AFLT\")"; return false; }
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]);
        if (version != Version) { error = $"unsupported format version {version} (expected {Version})"; return false; }
        if (BinaryPrimitives.ReadUInt16LittleEndian(bytes[6..]) != 0 || BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]) != 0)
        { error = "reserved header fields are not zero"; return false; }
        uint codeCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        uint setCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        uint stringCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[16..]);
        uint keyCount = BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..]);
        var rest = bytes[HeaderSize..];

        if ((ulong)codeCount * InstructionSet.InstructionSize > (ulong)rest.Length)
        { error = $"header declares {codeCount} instructions but the file holds at most {rest.Length / InstructionSet.InstructionSize}"; return false; }
        var code = new Instruction[codeCount];
        for (int i = 0; i < code.Length; i++)
            code[i] = Instruction.ReadFrom(rest.Slice(i * InstructionSet.InstructionSize, InstructionSet.InstructionSize));
        rest = rest[(int)(codeCount * InstructionSet.InstructionSize)..];

        if ((ulong)setCount * 8 > (ulong)rest.Length) { error = $"header declares {setCount} sets but the file is too short"; return false; }
        var sets = new ValueSet[setCount];
        for (int i = 0; i < sets.Length; i++)
        {
            if (rest.Length < 8) { error = $"set {i} is truncated"; return false; }
            byte signed = rest[0];
            if (signed > 1 || rest[1] != 0 || rest[2] != 0 || rest[3] != 0) { error = $"set {i} has a bad flags word"; return false; }
            uint n = BinaryPrimitives.ReadUInt32LittleEndian(rest[4..]);
            rest = rest[8..];
            if ((ulong)n * 16 > (ulong)rest.Length) { error = $"set {i} declares {n} ranges but the file is too short"; return false; }
            var ranges = new ValueRange[n];
            for (int r = 0; r < ranges.Length; r++)
                ranges[r] = new(BinaryPrimitives.ReadUInt64LittleEndian(rest[(r * 16)..]), BinaryPrimitives.ReadUInt64LittleEndian(rest[(r * 16 + 8)..]));
            rest = rest[(int)(n * 16)..];
            sets[i] = new ValueSet(signed == 1, ranges);
        }

        if (!TryReadBlobs(ref rest, stringCount, "string", out var strings, out error)) return false;
        if (!TryReadBlobs(ref rest, keyCount, "key", out var keyBlobs, out error)) return false;
        if (!rest.IsEmpty) { error = $"{rest.Length} unexpected bytes after the last section"; return false; }

        var keys = new string[keyBlobs.Length];
        var strict = new UTF8Encoding(false, true);
        for (int i = 0; i < keys.Length; i++)
        {
            try { keys[i] = strict.GetString(keyBlobs[i]); }
            catch (DecoderFallbackException) { error = $"key of verdict {i + 1} is not valid UTF-8"; return false; }
        }
        image = new ProgramImage(code, sets, strings, keys);
        error = "";
        return true;
    }

    private static bool TryReadBlobs(ref ReadOnlySpan<byte> rest, uint count, string what, out byte[][] blobs, out string error)
    {
        blobs = [];
        if ((ulong)count * 4 > (ulong)rest.Length) { error = $"header declares {count} {what}s but the file is too short"; return false; }
        blobs = new byte[count][];
        for (int i = 0; i < blobs.Length; i++)
        {
            if (rest.Length < 4) { error = $"{what} {i} is truncated"; return false; }
            uint n = BinaryPrimitives.ReadUInt32LittleEndian(rest);
            if (n > (uint)rest.Length - 4) { error = $"{what} {i} declares {n} bytes but the file is too short"; return false; }
            blobs[i] = rest.Slice(4, (int)n).ToArray();
            rest = rest[(4 + (int)n)..];
        }
        error = "";
        return true;
    }
}
