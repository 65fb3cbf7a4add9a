using System.Text;
using Filter.Kernel.Btf;
using Filter.Kernel.Sys;
using Xunit;

namespace Filter.Tests.Kernel;

public class BtfSpecTests
{
    /// <summary>Writes a BTF blob: types as (name, kind, info vlen/kflag, size-or-type, extra u32 words).</summary>
    private sealed class BtfWriter
    {
        private readonly MemoryStream _types = new();
        private readonly MemoryStream _strings = new();
        private int _nextId = 1;

        /// <summary>The id the next type will get (for a pointer to a type written later).</summary>
        public int NextId => _nextId;

        public BtfWriter() => _strings.WriteByte(0);

        public uint Name(string s)
        {
            uint at = (uint)_strings.Length;
            _strings.Write(Encoding.UTF8.GetBytes(s + "\0"));
            return at;
        }

        public int Type(string? name, BtfKind kind, int vlen, bool kindFlag, uint sizeOrType, params uint[] extra)
        {
            var w = new BinaryWriter(_types);
            w.Write(name is null ? 0u : Name(name));
            w.Write((uint)vlen | ((uint)kind << 24) | (kindFlag ? 1u << 31 : 0));
            w.Write(sizeOrType);
            foreach (uint e in extra) w.Write(e);
            return _nextId++;
        }

        public byte[] Bytes()
        {
            var blob = new MemoryStream();
            var w = new BinaryWriter(blob);
            w.Write(BtfConstants.Magic);
            w.Write(BtfConstants.Version);
            w.Write((byte)0);
            w.Write((uint)BtfHeader.SizeOf);
            w.Write(0u);
            w.Write((uint)_types.Length);
            w.Write((uint)_types.Length);
            w.Write((uint)_strings.Length);
            w.Write(_types.ToArray());
            w.Write(_strings.ToArray());
            return blob.ToArray();
        }
    }

    private static BtfSpec Sample(out int outer, out int proto)
    {
        var b = new BtfWriter();
        int u32 = b.Type("unsigned int", BtfKind.Int, 0, false, 4, 32);
        int u8 = b.Type("unsigned char", BtfKind.Int, 0, false, 1, 8);
        int kuid = b.Type(null, BtfKind.Struct, 1, false, 4, b.Name("val"), (uint)u32, 0);
        int kuidT = b.Type("kuid_t", BtfKind.Typedef, 0, false, (uint)kuid);
        int constKuid = b.Type(null, BtfKind.Const, 0, false, (uint)kuidT);
        // An anonymous union holding a struct with two bitfields (kind_flag: size << 24 | bit offset).
        int bits = b.Type(null, BtfKind.Struct, 2, true, 4, b.Name("lo"), (uint)u8, (3u << 24) | 0, b.Name("hi"), (uint)u8, (5u << 24) | 3);
        int anon = b.Type(null, BtfKind.Union, 2, false, 4, b.Name("word"), (uint)u32, 0, 0, (uint)bits, 0);
        // A pointer to "task", written two types later.
        int ptr = b.Type(null, BtfKind.Ptr, 0, false, (uint)b.NextId + 2);
        int arr = b.Type(null, BtfKind.Array, 0, false, 0, (uint)u8, (uint)u32, 16);
        outer = b.Type("task", BtfKind.Struct, 5, false, 40,
            b.Name("pid"), (uint)u32, 0,
            b.Name("uid"), (uint)constKuid, 32,
            0, (uint)anon, 64,
            b.Name("parent"), (uint)ptr, 128,
            b.Name("comm"), (uint)arr, 192);
        proto = b.Type("btf_trace_sys_exit", BtfKind.Typedef, 0, false, (uint)ptr);
        var spec = BtfSpec.Parse(b.Bytes());
        Assert.True(spec.Ok, spec.Error?.Message);
        return spec.Value;
    }

    [Fact]
    public void FindsMembersThroughTypedefsAnonymousMembersAndBitfields()
    {
        var spec = Sample(out int outer, out int proto);
        Assert.Equal(outer, spec.Find("task", BtfKind.Struct));
        Assert.Equal(proto, spec.Find("btf_trace_sys_exit", BtfKind.Typedef));
        Assert.Null(spec.Find("task", BtfKind.Union));

        var uid = spec.Member("task", "uid.val");
        Assert.True(uid.Ok, uid.Error?.Message);
        Assert.Equal(4, uid.Value.ByteOffset);
        Assert.Equal(4u, uid.Value.Size);

        var word = spec.Member("task", "word").Value;
        Assert.Equal(8, word.ByteOffset);
        var hi = spec.Member("task", "hi").Value;
        Assert.Equal(64u + 3, hi.BitOffset);
        Assert.Equal(5u, hi.BitSize);
        Assert.True(hi.IsBitfield);

        var parent = spec.Member("task", "parent").Value;
        Assert.Equal(16, parent.ByteOffset);
        Assert.Equal(outer, spec.PointeeOf(parent.TypeId));
        Assert.Equal(16u, spec.Member("task", "comm").Value.Size);
        Assert.Equal(40u, spec.SizeOf(outer));
    }

    [Fact]
    public void MissingMembersAreNamedErrors()
    {
        var spec = Sample(out _, out _);
        var missing = spec.Member("task", "uid.value");
        Assert.Equal(KernelErrorKind.Btf, missing.Error!.Kind);
        Assert.Contains("no member uid.value", missing.Error.Message);
        Assert.Contains("no struct nope", spec.Member("nope", "x").Error!.Message);
        Assert.Contains("not a struct", spec.Member("task", "pid.x").Error!.Message);
    }

    [Fact]
    public void MalformedBlobsAreErrorsNotExceptions()
    {
        Assert.Contains("shorter than its header", BtfSpec.Parse(new byte[3]).Error!.Message);
        var bytes = new BtfWriter().Bytes();
        bytes[0] ^= 0xff;
        Assert.Contains("magic", BtfSpec.Parse(bytes).Error!.Message);
        var truncated = new BtfWriter();
        truncated.Type("x", BtfKind.Struct, 3, false, 4);
        Assert.Contains("truncated", BtfSpec.Parse(truncated.Bytes()).Error!.Message);
    }

    [SkippableFact]
    public void ReadsTheRunningKernelsTypes()
    {
        Skip.IfNot(File.Exists(BtfSpec.KernelPath), $"no kernel BTF at {BtfSpec.KernelPath}");
        var spec = BtfSpec.LoadKernel().Value;
        Assert.NotNull(spec.Find("btf_trace_sys_exit", BtfKind.Typedef));
        foreach (var (type, member) in new[] { ("task_struct", "real_parent"), ("task_struct", "tgid"), ("task_struct", "cred"), ("cred", "uid.val"), ("cred", "fsgid.val"), ("task_struct", "comm") })
        {
            var m = spec.Member(type, member);
            Assert.True(m.Ok, m.Error?.Message);
        }
        Assert.Equal(16u, spec.Member("task_struct", "comm").Value.Size);
    }
}
