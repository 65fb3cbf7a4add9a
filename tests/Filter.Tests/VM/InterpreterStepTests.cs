using System.Globalization;
using Filter.Tests.Jit;
using Filter.VM;
using Xunit;
using FRecord = Filter.Bytecode.Record;

namespace Filter.Tests.VM;

/// <summary>
/// The interpreter's own form of a program (InterpreterCode): a field load and the test after it become one
/// step that reads 8 bytes and masks them, every comparison becomes a range test, and a test goes on to the
/// next step or jumps. Each is checked here against the plain meaning of the two instructions, for every
/// field width, every comparison, constants and values at every edge, every layout of the two targets, and
/// with every other header byte set, so a mask that lets a neighbour's byte through fails.
/// </summary>
public class InterpreterStepTests
{
    // u8, u32 (and the last field of the header), u64, s64.
    public static TheoryData<string> Fields() => new("type", "uid", "sig", "a0", "exit");

    /// <summary>Where the two targets of the test lie relative to the step the interpreter runs next.</summary>
    public enum Layout { TrueNext, FalseNext, NeitherNext, RegisterReadLater }

    /// <summary>
    /// A program that returns 2 when `load; op r2, #k` is true and 1 when false. a1 must be 0: it guards the
    /// NeitherNext layout, where another path makes the step after the test a third one.
    /// </summary>
    private static VerifiedProgram Program(string field, string op, ulong k, Layout layout)
    {
        var info = RecordLayout.Scalars.Single(f => f.Name == field);
        string load = info.Size switch { 1 => "ldb", 4 => "ldw", _ => "lddw" };
        string test = $"{load} r2, [{field}]\n{op} r2, #0x{k.ToString("x", CultureInfo.InvariantCulture)}";
        return JitTests.Assemble(".verdict 1 \"\"\n.verdict 2 \"\"\n.verdict 3 \"\"\n" + layout switch
        {
            Layout.TrueNext => $"{test} jt 2 jf 3\nret #2\nret #1\n",
            Layout.FalseNext => $"{test} jt 3 jf 2\nret #1\nret #2\n",
            Layout.NeitherNext => $"lddw r3, [a1]\njeq r3, #0 jt 2 jf 4\n{test} jt 5 jf 6\nret #3\nret #2\nret #1\n",
            _ => $"{test} jt 2 jf 4\nmov r4, r2\nret #2\nret #1\n",
        });
    }

    /// <summary>A record whose every header byte is 0xA5 except the field under test, which holds <paramref name="value"/>.</summary>
    private static byte[] Record(ScalarField field, ulong value)
    {
        var b = new RecordBuilder();
        foreach (var other in RecordLayout.Scalars) b.SetScalar(other, 0xA5A5A5A5A5A5A5A5);
        b.SetU64(RecordLayout.A1, 0);
        b.SetScalar(field, value);
        b.SetComm("bash");
        b.SetExe("/usr/bin/bash");
        return b.ToArray();
    }

    private static ulong Width(ScalarField field, ulong v) => field.Size == 8 ? v : v & ((1UL << 8 * field.Size) - 1);

    [Theory]
    [MemberData(nameof(Fields))]
    public void LoadAndCompareIsOneRangeTest(string field)
    {
        var info = RecordLayout.Scalars.Single(f => f.Name == field);
        foreach (var (op, holds) in JitTests.Conditions)
            foreach (ulong k in JitTests.Extremes)
                foreach (var layout in Enum.GetValues<Layout>())
                {
                    var program = Program(field, op, k, layout);
                    var jit = Filter.VM.Jit.Compile(program);
                    foreach (ulong raw in JitTests.Extremes.Append(Width(info, k)).Append(Width(info, k) + 1).Append(Width(info, k) - 1))
                    {
                        ulong v = Width(info, raw);
                        uint expected = holds(v, k) ? 2u : 1u;
                        var record = Record(info, raw);
                        Assert.True(Interpreter.Run(program, new FRecord(record)) == expected,
                            $"interpreter: {field} = {v}, {op} #{k}, {layout}: expected {expected}\n{Disassembler.Disassemble(program.Image)}");
                        Assert.Equal(expected, jit.Run(new FRecord(record)));
                    }
                }
    }

    public static TheoryData<string> Sets() => new(
        "unsigned 0, 59, 63..64, 231, 4095",             // a bitmap
        "unsigned 2, 0xffffffff",                        // searched: a member past the bitmap bound
        "signed -1, 0..3");                              // searched: negative

    [Theory]
    [MemberData(nameof(Sets))]
    public void LoadAndJinIsOneStep(string declaration)
    {
        foreach (string field in new[] { "type", "uid", "sig", "a0" })
        {
            var info = RecordLayout.Scalars.Single(f => f.Name == field);
            string load = info.Size switch { 1 => "ldb", 4 => "ldw", _ => "lddw" };
            foreach (var (jt, jf, t, f) in new[] { (2, 3, 2u, 1u), (3, 2, 1u, 2u) })
            {
                var program = JitTests.Assemble($".verdict 1 \"\"\n.verdict 2 \"\"\n.set 0 {declaration}\n{load} r2, [{field}]\njin r2, set0 jt {jt} jf {jf}\nret #{t}\nret #{f}\n");
                var set = program.Image.Sets[0];
                foreach (ulong raw in JitTests.Extremes.Concat(new ulong[] { 3, 231, 232, 4095, 4096, 0xffffffff, 0x1ffffffff }))
                {
                    ulong v = Width(info, raw);
                    uint expected = set.Contains(v) ? 2u : 1u;
                    Assert.True(Interpreter.Run(program, new FRecord(Record(info, raw))) == expected,
                        $"{field} = {v} in {declaration}: expected {expected}\n{Disassembler.Disassemble(program.Image)}");
                }
            }
        }
    }
}
