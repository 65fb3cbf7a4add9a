using System.Runtime.InteropServices;
using System.Text;
using Filter.Kernel.Sys;

namespace Filter.Kernel.Btf;

/// <summary>A struct or union member found by <see cref="BtfSpec.Member"/>: where it is and what it is.</summary>
/// <param name="BitOffset">From the start of the outermost struct, nested (and anonymous) members' offsets added.</param>
/// <param name="BitSize">Non-zero for a bitfield.</param>
/// <param name="Size">The member type's size in bytes (of its storage type, for a bitfield).</param>
public readonly record struct BtfMemberInfo(string Path, int TypeId, uint BitOffset, uint BitSize, uint Size)
{
    public int ByteOffset => (int)(BitOffset / 8);
    public bool IsBitfield => BitSize != 0;
}

/// <summary>
/// Kernel type information (BTF, <c>Documentation/bpf/btf.rst</c>), parsed from a blob such as
/// <c>/sys/kernel/btf/vmlinux</c>: types by id and name, struct member offsets (through nested and anonymous
/// members, bitfields included), for the offsets the back end must never hard-code and the attach ids of
/// BTF-typed tracepoints (<c>btf_trace_sys_exit</c>). The record layouts come from the generated
/// <see cref="BtfHeader"/>, <see cref="BtfType"/>, ...; the bit packing of <c>info</c> and of member offsets
/// is btf.h's <c>BTF_INFO_*</c> and <c>BTF_MEMBER_*</c> macros.
/// </summary>
public sealed class BtfSpec
{
    public const string KernelPath = "/sys/kernel/btf/vmlinux";

    private readonly byte[] _data;
    private readonly int _stringsStart, _stringsLength;
    /// <summary>Byte offset of each type record (index = type id; id 0 is void).</summary>
    private readonly int[] _typeAt;

    private BtfSpec(byte[] data, int stringsStart, int stringsLength, int[] typeAt)
    {
        _data = data;
        _stringsStart = stringsStart;
        _stringsLength = stringsLength;
        _typeAt = typeAt;
    }

    /// <summary>The number of type ids, void (0) included.</summary>
    public int Count => _typeAt.Length;

    public static KernelResult<BtfSpec> LoadKernel(string path = KernelPath)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new KernelError(KernelErrorKind.Btf, $"cannot read the kernel's BTF ({path}): {e.Message} (the kernel needs CONFIG_DEBUG_INFO_BTF)");
        }
        return Parse(data, path);
    }

    public static KernelResult<BtfSpec> Parse(byte[] data, string name = "BTF")
    {
        KernelError Bad(string why) => new(KernelErrorKind.Btf, $"{name}: not valid BTF: {why}");
        if (data.Length < BtfHeader.SizeOf) return Bad("shorter than its header");
        var header = MemoryMarshal.Read<BtfHeader>(data);
        if (header.Magic != BtfConstants.Magic) return Bad($"magic 0x{header.Magic:x4} (a big-endian or foreign blob?)");
        if (header.Version != BtfConstants.Version) return Bad($"version {header.Version}");
        long typesStart = header.HdrLen + (long)header.TypeOff, stringsStart = header.HdrLen + (long)header.StrOff;
        if (typesStart + header.TypeLen > data.Length || stringsStart + header.StrLen > data.Length) return Bad("a section runs past the end");

        var offsets = new List<int> { -1 };
        long at = typesStart, end = typesStart + header.TypeLen;
        while (at < end)
        {
            if (at + BtfType.SizeOf > end) return Bad($"type {offsets.Count} is truncated");
            var t = MemoryMarshal.Read<BtfType>(data.AsSpan((int)at));
            long extra = ExtraSize(Kind(t.Info), Vlen(t.Info));
            if (extra < 0) return Bad($"type {offsets.Count} has unknown kind {Kind(t.Info)}");
            if (at + BtfType.SizeOf + extra > end) return Bad($"type {offsets.Count} is truncated");
            offsets.Add((int)at);
            at += BtfType.SizeOf + extra;
        }
        if (at != end) return Bad("the type section does not end on a type");
        return new BtfSpec(data, (int)stringsStart, (int)header.StrLen, offsets.ToArray());
    }

    private static BtfKind Kind(uint info) => (BtfKind)((info >> 24) & 0x1f);
    private static int Vlen(uint info) => (int)(info & 0xffff);
    private static bool KindFlag(uint info) => info >> 31 != 0;

    /// <summary>Bytes that follow a type record of this kind, or -1 for a kind this parser does not know.</summary>
    private static long ExtraSize(BtfKind kind, int vlen) => kind switch
    {
        BtfKind.Int => sizeof(uint),
        BtfKind.Ptr or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
            or BtfKind.Func or BtfKind.Float or BtfKind.TypeTag => 0,
        BtfKind.Array => BtfArray.SizeOf,
        BtfKind.Struct or BtfKind.Union => (long)BtfMember.SizeOf * vlen,
        BtfKind.Enum => (long)BtfEnum.SizeOf * vlen,
        BtfKind.FuncProto => (long)BtfParam.SizeOf * vlen,
        BtfKind.Var => BtfVar.SizeOf,
        BtfKind.Datasec => (long)BtfVarSecinfo.SizeOf * vlen,
        BtfKind.DeclTag => BtfDeclTag.SizeOf,
        BtfKind.Enum64 => (long)BtfEnum64.SizeOf * vlen,
        _ => -1,
    };

    private BtfType TypeRecord(int id) => MemoryMarshal.Read<BtfType>(_data.AsSpan(_typeAt[id]));

    public BtfKind KindOf(int id) => id == 0 ? BtfKind.Unkn : Kind(TypeRecord(id).Info);

    public string NameOf(int id) => id == 0 ? "void" : String(TypeRecord(id).NameOff);

    private string String(uint offset)
    {
        if (offset >= _stringsLength) return "";
        var s = _data.AsSpan(_stringsStart + (int)offset, _stringsLength - (int)offset);
        int nul = s.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? s : s[..nul]);
    }

    /// <summary>The first type of <paramref name="kind"/> named <paramref name="name"/>, or null.</summary>
    public int? Find(string name, BtfKind kind)
    {
        // A scan comparing bytes (a few ms over vmlinux's ~125,000 types) costs less than indexing every
        // name, for the handful of lookups a program needs.
        var wanted = Encoding.UTF8.GetBytes(name + "\0");
        var strings = _data.AsSpan(_stringsStart, _stringsLength);
        for (int id = 1; id < _typeAt.Length; id++)
        {
            var t = TypeRecord(id);
            if (Kind(t.Info) != kind || t.NameOff == 0 || t.NameOff + wanted.Length > strings.Length) continue;
            if (strings.Slice((int)t.NameOff, wanted.Length).SequenceEqual(wanted)) return id;
        }
        return null;
    }

    /// <summary>The type behind typedefs and const/volatile/restrict/type-tag modifiers.</summary>
    public int Resolve(int id)
    {
        for (int hops = 0; hops < 64 && id != 0; hops++)
        {
            var kind = KindOf(id);
            if (kind is not (BtfKind.Typedef or BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag)) return id;
            id = (int)TypeRecord(id).Type;
        }
        return id;
    }

    /// <summary>The size in bytes of a type (pointers are 8), or 0 when it has none (void, functions).</summary>
    public uint SizeOf(int id)
    {
        id = Resolve(id);
        var t = TypeRecord(id);
        switch (Kind(t.Info))
        {
            case BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Float or BtfKind.Datasec:
                return t.Size;
            case BtfKind.Ptr:
                return 8;
            case BtfKind.Array:
                var a = MemoryMarshal.Read<BtfArray>(_data.AsSpan(_typeAt[id] + BtfType.SizeOf));
                return a.Nelems * SizeOf((int)a.Type);
            default:
                return 0;
        }
    }

    /// <summary>For a pointer type (behind modifiers), the type it points to; else null.</summary>
    public int? PointeeOf(int id)
    {
        id = Resolve(id);
        return KindOf(id) == BtfKind.Ptr ? (int)TypeRecord(id).Type : null;
    }

    /// <summary>
    /// A member of struct or union <paramref name="structName"/> by a dotted path through nested members
    /// (<c>"loginuid.val"</c>, <c>"thread_info.status"</c>), looking into anonymous members as C does; the offset
    /// is from the start of the outer type. Pointers are not followed: each pointer is a separate read.
    /// </summary>
    public KernelResult<BtfMemberInfo> Member(string structName, string path)
    {
        int? id = Find(structName, BtfKind.Struct) ?? Find(structName, BtfKind.Union);
        if (id is null) return new KernelError(KernelErrorKind.Btf, $"the kernel's BTF has no struct {structName}");
        return Member(id.Value, path, structName);
    }

    public KernelResult<BtfMemberInfo> Member(int typeId, string path, string? typeName = null)
    {
        typeName ??= NameOf(typeId);
        int current = Resolve(typeId);
        uint bitOffset = 0, bitSize = 0;
        foreach (string part in path.Split('.'))
        {
            if (KindOf(current) is not (BtfKind.Struct or BtfKind.Union))
                return new KernelError(KernelErrorKind.Btf, $"the kernel's BTF: {typeName}.{path}: '{part}' is looked up in {NameOf(current)}, which is not a struct or union");
            if (FindMember(current, part) is not { } found)
                return new KernelError(KernelErrorKind.Btf, $"the kernel's BTF: struct {typeName} has no member {path} (no '{part}' in {NameOf(current)})");
            bitOffset += found.BitOffset;
            bitSize = found.BitSize;
            current = Resolve(found.TypeId);
        }
        return new BtfMemberInfo(path, current, bitOffset, bitSize, SizeOf(current));
    }

    /// <summary>A named member of a struct/union, searching anonymous members too; offsets relative to it.</summary>
    private (int TypeId, uint BitOffset, uint BitSize)? FindMember(int structId, string name)
    {
        var t = TypeRecord(structId);
        bool kindFlag = KindFlag(t.Info);
        int count = Vlen(t.Info);
        var members = MemoryMarshal.Cast<byte, BtfMember>(_data.AsSpan(_typeAt[structId] + BtfType.SizeOf, count * BtfMember.SizeOf));
        foreach (var m in members)
        {
            uint offset = kindFlag ? m.Offset & 0xffffff : m.Offset;
            uint size = kindFlag ? m.Offset >> 24 : LegacyBitfieldSize((int)m.Type);
            if (m.NameOff == 0)
            {
                int inner = Resolve((int)m.Type);
                if (KindOf(inner) is BtfKind.Struct or BtfKind.Union && FindMember(inner, name) is { } nested)
                    return (nested.TypeId, offset + nested.BitOffset, nested.BitSize);
            }
            else if (String(m.NameOff) == name)
                return ((int)m.Type, offset, size);
        }
        return null;
    }

    /// <summary>Before kind_flag, a bitfield's width was its int type's bits when they differ from its size.</summary>
    private uint LegacyBitfieldSize(int typeId)
    {
        int id = Resolve(typeId);
        if (KindOf(id) != BtfKind.Int) return 0;
        var t = TypeRecord(id);
        uint encoding = MemoryMarshal.Read<uint>(_data.AsSpan(_typeAt[id] + BtfType.SizeOf));
        uint bits = encoding & 0xff;
        return bits != t.Size * 8 ? bits : 0;
    }
}
