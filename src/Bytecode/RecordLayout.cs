namespace Filter.Bytecode;

/// <summary>How a scalar record field is stored and how a load widens it to 64 bits.</summary>
public enum FieldKind : byte
{
    /// <summary>Unsigned 8-bit, zero-extended (an integer, or a boolean 0/1 when <see cref="ScalarField.IsBoolean"/>).</summary>
    U8,
    /// <summary>Unsigned 32-bit, zero-extended.</summary>
    U32,
    /// <summary>Unsigned 64-bit.</summary>
    U64,
    /// <summary>Signed 64-bit (two's complement).</summary>
    S64,
}

/// <summary>A scalar field of the record header: name, byte offset and storage kind.</summary>
public sealed record ScalarField(string Name, int Offset, FieldKind Kind)
{
    /// <summary>
    /// The language sees the field as a boolean (<c>success</c>), not an integer. Only a <see cref="FieldKind.U8"/>
    /// field can be one; <c>type</c> is a U8 that is an integer.
    /// </summary>
    public bool IsBoolean { get; init; }

    public int Size => Kind switch { FieldKind.U8 => 1, FieldKind.U32 => 4, _ => 8 };
    public bool IsSigned => Kind == FieldKind.S64;
}

/// <summary>A string field: a 4-byte descriptor (u16 offset from the record start, u16 length) in the header.</summary>
public sealed record StringField(string Name, int DescriptorOffset, int MaxLength);

/// <summary>
/// The binary layout of a record, the only fact the VM knows about audit records (spec/record.md).
/// A record is a 128-byte little-endian header, every scalar at a fixed offset like seccomp's
/// <c>struct seccomp_data</c>, followed by the bytes of its strings, which the header reaches through
/// fixed-offset descriptors.
/// </summary>
public static class RecordLayout
{
    public const int HeaderSize = 128;
    public const int CommMaxLength = 15;
    public const int ExeMaxLength = 4096;
    /// <summary>Largest possible record: header plus both strings at their maximum length.</summary>
    public const int MaxRecordSize = HeaderSize + CommMaxLength + ExeMaxLength;

    public const int Arch = 0, Syscall = 4, Exit = 8;
    public const int A0 = 16, A1 = 24, A2 = 32, A3 = 40, A4 = 48, A5 = 56;
    public const int Pid = 64, Ppid = 68, Auid = 72, Uid = 76, Gid = 80, Euid = 84, Suid = 88, Fsuid = 92;
    public const int Egid = 96, Sgid = 100, Fsgid = 104, Ses = 108;
    public const int Success = 112;
    /// <summary>The event type (u8): <see cref="EventTypes"/>. 0 = syscall, so every record built before
    /// event types existed is a syscall record.</summary>
    public const int Type = 113;
    /// <summary>The signal number (u32) of a signal record; 0 in a syscall record.</summary>
    public const int Sig = 116;
    public const int CommDescriptor = 120, ExeDescriptor = 124;

    /// <summary>Every scalar field, in offset order. Loads are valid exactly at these offsets and sizes.</summary>
    public static readonly IReadOnlyList<ScalarField> Scalars =
    [
        new("arch", Arch, FieldKind.U32),
        new("syscall", Syscall, FieldKind.U32),
        new("exit", Exit, FieldKind.S64),
        new("a0", A0, FieldKind.U64),
        new("a1", A1, FieldKind.U64),
        new("a2", A2, FieldKind.U64),
        new("a3", A3, FieldKind.U64),
        new("a4", A4, FieldKind.U64),
        new("a5", A5, FieldKind.U64),
        new("pid", Pid, FieldKind.U32),
        new("ppid", Ppid, FieldKind.U32),
        new("auid", Auid, FieldKind.U32),
        new("uid", Uid, FieldKind.U32),
        new("gid", Gid, FieldKind.U32),
        new("euid", Euid, FieldKind.U32),
        new("suid", Suid, FieldKind.U32),
        new("fsuid", Fsuid, FieldKind.U32),
        new("egid", Egid, FieldKind.U32),
        new("sgid", Sgid, FieldKind.U32),
        new("fsgid", Fsgid, FieldKind.U32),
        new("ses", Ses, FieldKind.U32),
        new("success", Success, FieldKind.U8) { IsBoolean = true },
        new("type", Type, FieldKind.U8),
        new("sig", Sig, FieldKind.U32),
    ];

    /// <summary>The values of the <c>type</c> field, by name (the language resolves these names beside <c>type</c>).</summary>
    public static readonly IReadOnlyList<(string Name, byte Value)> EventTypes =
    [
        ("syscall", EventTypeSyscall),
        ("signal", EventTypeSignal),
    ];

    public const byte EventTypeSyscall = 0, EventTypeSignal = 1;

    /// <summary>Every string field, in descriptor order.</summary>
    public static readonly IReadOnlyList<StringField> Strings =
    [
        new("comm", CommDescriptor, CommMaxLength),
        new("exe", ExeDescriptor, ExeMaxLength),
    ];

    private static readonly ScalarField?[] ScalarByOffset = BuildOffsetIndex();

    private static ScalarField?[] BuildOffsetIndex()
    {
        var index = new ScalarField?[HeaderSize];
        foreach (var f in Scalars) index[f.Offset] = f;
        return index;
    }

    /// <summary>The scalar field starting at <paramref name="offset"/>, or null.</summary>
    public static ScalarField? ScalarAt(long offset) =>
        offset >= 0 && offset < HeaderSize ? ScalarByOffset[offset] : null;

    /// <summary>The string field whose descriptor is at <paramref name="descriptorOffset"/>, or null.</summary>
    public static StringField? StringAt(long descriptorOffset)
    {
        foreach (var s in Strings)
            if (s.DescriptorOffset == descriptorOffset) return s;
        return null;
    }

    public static ScalarField? ScalarNamed(string name)
    {
        foreach (var f in Scalars) if (f.Name == name) return f;
        return null;
    }

    public static StringField? StringNamed(string name)
    {
        foreach (var s in Strings) if (s.Name == name) return s;
        return null;
    }
}
