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
/// A record is a 320-byte little-endian header, every scalar at a fixed offset like seccomp's
/// <c>struct seccomp_data</c>, followed by the bytes of its strings, which the header reaches through
/// fixed-offset descriptors. Version 2: the whole audit event (time, serial, keys, tty, cwd, the first
/// <see cref="PathItems"/> PATH items, proctitle, EXECVE arguments, SOCKADDR), not only its SYSCALL record.
/// </summary>
/// <remarks>
/// Three encodings bound the layout: a descriptor is (u16 offset, u16 length), so a record is at most
/// 65,535 bytes (<see cref="MaxRecordSize"/> is below that with every string at its maximum); a string test
/// names its field's descriptor in slot A, a byte, so every descriptor sits below offset 256; and the
/// interpreter's fused steps read 8 bytes at a field's offset, so a field in the last 8 bytes of the header
/// is never fused (only the last nametypes are there).
/// </remarks>
public static class RecordLayout
{
    public const int HeaderSize = 320;

    /// <summary>The header of record version 1 (its fields keep their offsets in version 2).</summary>
    public const int V1HeaderSize = 128;

    /// <summary>PATH items a record holds: the most any event of the real logs here has (rename: 4).</summary>
    public const int PathItems = 4;

    public const int CommMaxLength = 15;
    public const int ExeMaxLength = 4096;
    /// <summary>The kernel's AUDIT_MAX_KEY_LEN: every key of a rule, joined by \x01.</summary>
    public const int KeyMaxLength = 256;
    /// <summary>tty_name(): the kernel's struct tty_struct name[64], NUL-terminated.</summary>
    public const int TtyMaxLength = 63;
    public const int CwdMaxLength = 4096;
    /// <summary>MAX_PROCTITLE_AUDIT_LEN: the kernel logs at most 128 bytes of the command line.</summary>
    public const int ProctitleMaxLength = 128;
    public const int ArgvMaxLength = 16384;
    /// <summary>An AF_UNIX sun_path (108 bytes) is the longest address text; IPv6 text is at most 45.</summary>
    public const int AddrMaxLength = 108;
    /// <summary>PATH_MAX.</summary>
    public const int NameMaxLength = 4096;

    /// <summary>Largest possible record: the header plus every string at its maximum length (below 65,536).</summary>
    public const int MaxRecordSize = HeaderSize + CommMaxLength + ExeMaxLength + KeyMaxLength + TtyMaxLength + CwdMaxLength
        + ProctitleMaxLength + ArgvMaxLength + AddrMaxLength + 2 * PathItems * NameMaxLength;

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
    public const int KeyDescriptor = 128, TtyDescriptor = 132, CwdDescriptor = 136, ProctitleDescriptor = 140;
    public const int ArgvDescriptor = 144, AddrDescriptor = 148;
    /// <summary>Item i's name as logged is at NameDescriptor + 4i, its resolved path at PathDescriptor + 4i.</summary>
    public const int NameDescriptor = 152, PathDescriptor = 168;
    /// <summary>The event's time in milliseconds since the epoch (u64) and its serial (u64).</summary>
    public const int Time = 184, Serial = 192;
    /// <summary>Item i's inode (u64) is at Inode + 8i.</summary>
    public const int Inode = 200;
    public const int Items = 232, Argc = 236, SaddrFam = 240, Port = 244, Oflag = 248;
    /// <summary>Item i's dev, mode, ouid and ogid (u32) are at these + 4i, its nametype (u8) at Nametype + i.</summary>
    public const int Dev = 252, Mode = 268, Ouid = 284, Ogid = 300, Nametype = 316;

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
        new("time", Time, FieldKind.U64),
        new("serial", Serial, FieldKind.U64),
        .. PerItem("inode", Inode, FieldKind.U64),
        new("items", Items, FieldKind.U32),
        new("argc", Argc, FieldKind.U32),
        new("saddr_fam", SaddrFam, FieldKind.U32),
        new("port", Port, FieldKind.U32),
        new("oflag", Oflag, FieldKind.U32),
        .. PerItem("dev", Dev, FieldKind.U32),
        .. PerItem("mode", Mode, FieldKind.U32),
        .. PerItem("ouid", Ouid, FieldKind.U32),
        .. PerItem("ogid", Ogid, FieldKind.U32),
        .. PerItem("nametype", Nametype, FieldKind.U8),
    ];

    private static IEnumerable<ScalarField> PerItem(string name, int offset, FieldKind kind)
    {
        int size = kind switch { FieldKind.U8 => 1, FieldKind.U32 => 4, _ => 8 };
        return Enumerable.Range(0, PathItems).Select(i => new ScalarField($"{name}{i}", offset + size * i, kind));
    }

    /// <summary>The values of the <c>type</c> field, by name (the language resolves these names beside <c>type</c>).</summary>
    public static readonly IReadOnlyList<(string Name, byte Value)> EventTypes =
    [
        ("syscall", EventTypeSyscall),
        ("signal", EventTypeSignal),
    ];

    public const byte EventTypeSyscall = 0, EventTypeSignal = 1;

    /// <summary>
    /// The values of the <c>nametypeN</c> fields: the kernel's AUDIT_TYPE_* (include/linux/audit.h), named as
    /// a PATH record writes them.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, byte Value)> NameTypes =
    [
        ("UNKNOWN", 0), ("NORMAL", 1), ("PARENT", 2), ("DELETE", 3), ("CREATE", 4),
    ];

    /// <summary>Every string field, in descriptor order (which is also the order of their bytes in a built record).</summary>
    public static readonly IReadOnlyList<StringField> Strings =
    [
        new("comm", CommDescriptor, CommMaxLength),
        new("exe", ExeDescriptor, ExeMaxLength),
        new("key", KeyDescriptor, KeyMaxLength),
        new("tty", TtyDescriptor, TtyMaxLength),
        new("cwd", CwdDescriptor, CwdMaxLength),
        new("proctitle", ProctitleDescriptor, ProctitleMaxLength),
        new("argv", ArgvDescriptor, ArgvMaxLength),
        new("addr", AddrDescriptor, AddrMaxLength),
        .. Enumerable.Range(0, PathItems).Select(i => new StringField($"name{i}", NameDescriptor + 4 * i, NameMaxLength)),
        .. Enumerable.Range(0, PathItems).Select(i => new StringField($"path{i}", PathDescriptor + 4 * i, NameMaxLength)),
    ];

    private static readonly ScalarField?[] ScalarByOffset = BuildOffsetIndex();
    private static readonly StringField?[] StringByOffset = BuildStringIndex();

    /// <summary>The maximum length of the string field whose descriptor is at offset i (0 for any other offset below 256).</summary>
    public static readonly int[] MaxLengthAt = StringByOffset.Select(s => s?.MaxLength ?? 0).ToArray();

    private static ScalarField?[] BuildOffsetIndex()
    {
        var index = new ScalarField?[HeaderSize];
        foreach (var f in Scalars) index[f.Offset] = f;
        return index;
    }

    private static StringField?[] BuildStringIndex()
    {
        var index = new StringField?[256];
        foreach (var s in Strings) index[s.DescriptorOffset] = s;
        return index;
    }

    /// <summary>The scalar field starting at <paramref name="offset"/>, or null.</summary>
    public static ScalarField? ScalarAt(long offset) =>
        offset >= 0 && offset < HeaderSize ? ScalarByOffset[offset] : null;

    /// <summary>The string field whose descriptor is at <paramref name="descriptorOffset"/>, or null.</summary>
    public static StringField? StringAt(long descriptorOffset) =>
        descriptorOffset >= 0 && descriptorOffset < StringByOffset.Length ? StringByOffset[descriptorOffset] : null;

    public static ScalarField? ScalarNamed(string name)
    {
        for (int i = 0; i < Scalars.Count; i++) if (Scalars[i].Name == name) return Scalars[i]; // an index: a foreach over the interface allocates
        return null;
    }

    public static StringField? StringNamed(string name)
    {
        for (int i = 0; i < Strings.Count; i++) if (Strings[i].Name == name) return Strings[i];
        return null;
    }
}
