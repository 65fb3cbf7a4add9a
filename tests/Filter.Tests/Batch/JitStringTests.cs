using System.Buffers.Binary;
using System.Text;
using Filter.Tests.Jit;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Batch;

/// <summary>
/// The JIT compiles string tests (equality, prefix, suffix) inline: one or two integer compares for constants up to
/// <c>JitEmitter.InlineCompareBytes</c> (16) bytes, a span compare beyond. Every constant length from 0
/// to past that limit and past comm's 15-byte maximum, against strings one byte shorter, equal, one
/// byte different at each end, and longer; plus malformed descriptors. Oracle: <see cref="Record.GetString"/>.
/// </summary>
public class JitStringTests
{
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 20), 31, 32, 33, 64, 4095, 4096];

    private static string Constant(int length) => new(Enumerable.Range(0, length).Select(i => (char)('a' + i % 26)).ToArray());

    /// <summary>Strings near <paramref name="c"/>: shorter, equal, first or last byte changed, longer.</summary>
    private static IEnumerable<string> Near(string c)
    {
        yield return c;
        yield return c + "z";
        yield return c + c;
        if (c.Length > 0)
        {
            yield return c[..^1];
            yield return "#" + c[1..];
            yield return c[..^1] + "#";
            yield return c[..^1] + "#" + "tail";
        }
    }

    private static IEnumerable<byte[]> Records(string c)
    {
        foreach (string s in Near(c))
        {
            var r = JitTests.Rec(comm: s, exe: s);
            yield return r;
            // The same strings behind malformed descriptors: length over the field's maximum, offset in
            // the header, end one past the record ...
            foreach (var field in RecordLayout.Strings)
            {
                uint d = BinaryPrimitives.ReadUInt32LittleEndian(r.AsSpan(field.DescriptorOffset));
                uint offset = d & 0xffff, length = d >> 16;
                // ... and one whose length is the constant's but whose end is one past the record.
                uint late = (uint)(r.Length - c.Length + 1) | (uint)c.Length << 16;
                foreach (uint bad in new[] { offset | ((uint)field.MaxLength + 1) << 16, 100u | length << 16, offset | (uint)(r.Length - offset + 1) << 16, late })
                {
                    var m = (byte[])r.Clone();
                    BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(field.DescriptorOffset), bad);
                    yield return m;
                }
            }
        }
    }

    public static IEnumerable<object[]> Cases() =>
        from n in Lengths from op in new[] { "jstreq", "jstrpfx", "jstrsfx" } from field in new[] { "comm", "exe" } select new object[] { op, field, n };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryConstantLength(string op, string field, int length)
    {
        string c = Constant(length);
        var p = JitTests.Assemble($".verdict 1 \"\"\n.string 0 \"{c}\"\n{op} [{field}], str0 jt 2 jf 1\nret #0\nret #1\n");
        var records = Records(c).ToList();
        var verdicts = BatchCheck.Agree(p, records, $"{op} [{field}] length {length}");
        byte[] bytes = Encoding.ASCII.GetBytes(c);
        for (int i = 0; i < records.Count; i++)
        {
            var view = new Record(records[i]);
            var actual = view.GetString(RecordLayout.StringNamed(field)!);
            bool expected = op switch
            {
                "jstreq" => actual.SequenceEqual(bytes),
                "jstrpfx" => actual.StartsWith(bytes),
                _ => actual.EndsWith(bytes),
            };
            Assert.True(expected == (verdicts[i] == 1), $"record {i}: {op} [{field}] \"{c}\"");
        }
        // Each shape of test matches something and misses something, where it can.
        if (length <= RecordLayout.StringNamed(field)!.MaxLength && (length > 0 || op == "jstreq"))
        {
            Assert.Contains(1u, verdicts);
            Assert.Contains(0u, verdicts);
        }
    }

    /// <summary>
    /// In a batch, a descriptor running past its record's end points at the next record: the field must
    /// still read as "" (here the bytes it points at are the constant itself).
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void DescriptorsIntoTheNextRecordReadAsEmpty(string op, string field, int length)
    {
        string c = Constant(length);
        var p = JitTests.Assemble($".verdict 1 \"\"\n.string 0 \"{c}\"\n{op} [{field}], str0 jt 2 jf 1\nret #0\nret #1\n");
        var next = JitTests.Rec(comm: c, exe: c);
        var descriptor = RecordLayout.StringNamed(field)!.DescriptorOffset;
        int at = (int)(BinaryPrimitives.ReadUInt32LittleEndian(next.AsSpan(descriptor)) & 0xffff);
        var first = JitTests.Rec(comm: "x", exe: "x");
        BinaryPrimitives.WriteUInt32LittleEndian(first.AsSpan(descriptor), (uint)(first.Length + at) | (uint)length << 16);
        var verdicts = BatchCheck.Agree(p, [first, next], $"{op} [{field}] length {length}");
        // "" equals "" and starts every string; otherwise the first record does not match.
        Assert.Equal(length == 0 ? 1u : 0u, verdicts[0]);
    }
}
