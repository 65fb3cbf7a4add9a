using Filter.Tests.Conformance;
using Filter.Tests.Engines;
using TestData = Filter.Tests.Engines.TestData;
using Filter.Tests.Jit;
using Filter.Tests.Properties;
using Filter.Tests.VM;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Batch;

/// <summary>
/// <see cref="IRecordFilter.RunBatch"/> and <see cref="IRecordFilter.MatchIndices"/> give exactly the
/// per-record verdicts of <see cref="IRecordFilter.Run"/>, on both engines, for every opcode, every
/// conformance vector, random filters and random multi-verdict bytecode; and allocate nothing.
/// </summary>
public class BatchEngineTests
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    /// <summary>Random records, records around every string edge (malformed descriptors too), and extremes.</summary>
    private static readonly IReadOnlyList<byte[]> Mixed =
        [.. FilterGenRecords.Sample, .. JitTests.StringRecords(), .. JitTests.Extremes.Select(v => JitTests.Rec(v, v >> 1, ~v, "bash", "/tmp/x"))];

    [Theory]
    [MemberData(nameof(InstructionSetTests.AllOpcodes), MemberType = typeof(InstructionSetTests))]
    public void EveryOpcode(OpCode code)
    {
        var op = InstructionSet.Get(code);
        BatchCheck.Agree(JitTests.Assemble(InstructionSetTests.ProgramUsing(op)), Mixed, code.ToString());
        var minimal = V.Verify(JitTests.MinimalProgram(op));
        Assert.True(minimal.Ok, minimal.Error?.ToString());
        BatchCheck.Agree(minimal.Program!, Mixed, code.ToString());
    }

    public static IEnumerable<object[]> Vectors() => ConformanceTests.LoadVectors().Select(v => new object[] { v });

    [Theory]
    [MemberData(nameof(Vectors))]
    public void ConformanceVectors(ConformanceTests.Vector vector)
    {
        var program = TestPrograms.CompileAndVerify(vector.Filter);
        var records = TestData.ReadRecords(TestData.Conformance(vector.RecordsFile));
        var verdicts = BatchCheck.Agree(program, records, vector.ToString());
        Assert.Equal(vector.Expected, Enumerable.Range(1, records.Count).Where(n => verdicts[n - 1] != 0));
    }

    [Fact]
    public void RandomFilters()
    {
        var config = Config.QuickThrowOnFailure.WithMaxTest(Iterations(200));
        var cases = Gen.Zip(FilterGen.Filter(8), FilterGen.Record.ArrayOf(24)).ToArbitrary();
        Check.One(config, Prop.ForAll(cases, c => BatchCheck.Agree(TestPrograms.CompileAndVerify(c.Item1), c.Item2, c.Item1)));
    }

    [Fact]
    public void RandomMultiVerdictBytecode()
    {
        var random = new Random(20260401);
        for (int n = 0; n < Iterations(300); n++)
        {
            var image = RandomBytecode.Program(random);
            var result = V.Verify(image);
            Assert.True(result.Ok, $"{result.Error}\n{Disassembler.Disassemble(image)}");
            var verdicts = BatchCheck.Agree(result.Program!, Mixed);
            Assert.All(verdicts, v => Assert.InRange(v, 0u, 3u));
        }
    }

    [Fact]
    public void VerdictsUpTo65535()
    {
        string keys = string.Join("\n", Enumerable.Range(1, 65535).Select(k => $".verdict {k} \"\""));
        var p = JitTests.Assemble(keys + "\nlddw r3, [a0]\njeq r3, #5 jt 2 jf 3\nja 4\nret #0\nret #65535\n");
        Assert.Equal([65535u, 0u, 65535u], BatchCheck.Agree(p, [JitTests.Rec(5), JitTests.Rec(4), JitTests.Rec(5)]));
    }

    /// <summary>
    /// In a batch the bytes after a record are the next record, so a descriptor running past its own
    /// record's end would still be inside the buffer: it must read as "" all the same.
    /// </summary>
    [Fact]
    public void DescriptorsAreCheckedAgainstTheirOwnRecordNotTheBuffer()
    {
        var program = TestPrograms.CompileAndVerify("exe startswith \"/tmp/\" || exe == \"\" && comm == \"\" || comm == \"bash\"");
        var first = JitTests.Rec(comm: "bash", exe: "/tmp/x");
        var second = JitTests.Rec(comm: "bash", exe: "/tmp/x");
        // The first record's descriptors point 20 bytes past its end, at the second record's strings.
        uint exe = (uint)(first.Length + RecordLayout.HeaderSize + 15) | (6u << 16), comm = (uint)(first.Length + RecordLayout.HeaderSize) | (4u << 16);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(first.AsSpan(RecordLayout.ExeDescriptor), exe);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(first.AsSpan(RecordLayout.CommDescriptor), comm);
        // Strings read as "" in the first record: `exe == "" && comm == ""` matches; the others do not.
        Assert.Equal([1u, 1u], BatchCheck.Agree(program, [first, second]));
        var strict = TestPrograms.CompileAndVerify("exe startswith \"/tmp/\" || comm == \"bash\"");
        Assert.Equal([0u, 1u], BatchCheck.Agree(strict, [first, second]));
    }

    [Fact]
    public void BatchesAllocateNothing()
    {
        var program = TestPrograms.CompileAndVerify(
            "syscall in (fork, vfork, clone, execve, __NR_exit, exit_group) && uid != 0 || exe startswith \"/tmp/\" || comm == \"bash\" || a0 in (1..3, 100000, 0x7fffffffffff..0x7fffffffffffff) || (a1 << a2) > 7");
        var builder = new RecordBatchBuilder();
        foreach (var r in Mixed) builder.Add(r);
        var verdicts = new uint[builder.Count];
        var indices = new int[builder.Count];
        foreach (var engine in BatchCheck.Engines)
        {
            var filter = RecordFilters.Create(program, engine);
            long sink = 0;
            // The first calls compile the JIT's batch loops.
            for (int i = 0; i < 3; i++) sink += filter.RunBatch(builder.Batch, verdicts) + filter.MatchIndices(builder.Batch, indices);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++) sink += filter.RunBatch(builder.Batch, verdicts) + filter.MatchIndices(builder.Batch, indices);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.True(sink > 0);
        }
    }
}

/// <summary>
/// Random verified programs with verdicts 0..3: registers r0..r3 are written first; the body mixes every
/// ALU op, loads, conditional jumps (K and X, jin, string tests) whose false edge falls through and whose
/// true edge goes anywhere forward; it ends with three jumps to <c>ret #1..#3</c> and falls into
/// <c>ret #0</c>. Every pc is thus reachable and every read defined: each program verifies.
/// </summary>
internal static class RandomBytecode
{
    private static readonly OpCode[] Alu =
        [OpCode.MovK, OpCode.AddK, OpCode.SubK, OpCode.AndK, OpCode.OrK, OpCode.XorK, OpCode.LshK, OpCode.RshK, OpCode.ArshK,
         OpCode.MovX, OpCode.AddX, OpCode.SubX, OpCode.AndX, OpCode.OrX, OpCode.XorX, OpCode.LshX, OpCode.RshX, OpCode.ArshX, OpCode.Neg, OpCode.Not];
    private static readonly OpCode[] Jumps =
        [OpCode.JeqK, OpCode.JgtK, OpCode.JgeK, OpCode.JsgtK, OpCode.JsgeK, OpCode.JsetK,
         OpCode.JeqX, OpCode.JgtX, OpCode.JgeX, OpCode.JsgtX, OpCode.JsgeX, OpCode.JsetX, OpCode.Jin, OpCode.JstrEq, OpCode.JstrPrefix, OpCode.Jswitch];

    /// <summary>One set per jin strategy of the JIT: mask, tree, signed tree, bitmap, matcher call.</summary>
    private static readonly ValueSet[] Sets =
    [
        new(false, [new(0, 0), new(5, 9), new(63, 63)]),
        new(false, [new(56, 60), new(231, 231), new(0xffffffff, 0x100000000)]),
        new(true, [new(unchecked((ulong)-5L), unchecked((ulong)-1L)), new(3, 3)]),
        new(false, Enumerable.Range(0, 30).Select(i => new ValueRange((ulong)i * 11, (ulong)i * 11 + 2)).Append(new(4000, 4095))),
        new(true, Enumerable.Range(-15, 30).Select(i => new ValueRange(unchecked((ulong)(i * 1000L)), unchecked((ulong)(i * 1000L + 64))))),
    ];

    private static readonly byte[][] Strings =
        [[], "/tmp/"u8.ToArray(), "bash"u8.ToArray(), "/usr/bin/ls"u8.ToArray(), "/usr/bin/python3.11"u8.ToArray(), Enumerable.Repeat((byte)'x', 4096).ToArray()];

    public static ProgramImage Program(Random random)
    {
        const int registers = 4;
        int body = random.Next(0, 30);
        int tail = registers + body + 3; // pc of ret #0
        var code = new List<Instruction>();
        ulong Imm() => random.Next(3) == 0 ? (ulong)random.Next(0, 70) : JitTests.Extremes[random.Next(JitTests.Extremes.Length)];
        byte Reg() => (byte)random.Next(registers);
        Instruction Load(byte r)
        {
            var field = RecordLayout.Scalars[random.Next(RecordLayout.Scalars.Count)];
            return new(field.Size switch { 1 => OpCode.Ldb, 4 => OpCode.Ldw, _ => OpCode.Lddw }, r, 0, 0, 0, (ulong)field.Offset);
        }
        for (byte r = 0; r < registers; r++) code.Add(random.Next(4) == 0 ? new(OpCode.MovK, r, 0, 0, 0, Imm()) : Load(r));
        for (int k = 0; k < body; k++)
        {
            int pc = code.Count;
            ushort jt = (ushort)random.Next(0, tail + 3 - pc);
            code.Add(random.Next(10) switch
            {
                < 4 => Alu[random.Next(Alu.Length)] switch
                {
                    var op when InstructionSet.Get(op).B == Operand.RegRead => new Instruction(op, Reg(), Reg(), 0, 0, 0),
                    (OpCode.Neg or OpCode.Not) and var op => new Instruction(op, Reg(), 0, 0, 0, 0),
                    var op => new Instruction(op, Reg(), 0, 0, 0, Imm()),
                },
                4 => Load(Reg()),
                _ => Jumps[random.Next(Jumps.Length)] switch
                {
                    OpCode.Jin => new Instruction(OpCode.Jin, Reg(), 0, jt, 0, (ulong)random.Next(Sets.Length)),
                    // Sets 0-2 have at most 3 ranges; the last case lands at most on the last ret.
                    OpCode.Jswitch when random.Next(3) is var set => new Instruction(OpCode.Jswitch, Reg(), 0,
                        (ushort)random.Next(0, tail + 4 - pc - Sets[set].Ranges.Count), 0, (ulong)set),
                    (OpCode.JstrEq or OpCode.JstrPrefix) and var op =>
                        new Instruction(op, (byte)RecordLayout.Strings[random.Next(2)].DescriptorOffset, 0, jt, 0, (ulong)random.Next(Strings.Length)),
                    var op when InstructionSet.Get(op).B == Operand.RegRead => new Instruction(op, Reg(), Reg(), jt, 0, 0),
                    var op => new Instruction(op, Reg(), 0, jt, 0, Imm()),
                },
            });
        }
        for (int v = 1; v <= 3; v++)
        {
            int pc = code.Count;
            code.Add(new Instruction(random.Next(2) == 0 ? OpCode.JsetK : OpCode.JgtK, Reg(), 0, (ushort)(tail + v - pc - 1), 0, Imm()));
        }
        for (uint v = 0; v <= 3; v++) code.Add(new Instruction(OpCode.Ret, 0, 0, 0, 0, v));
        return new ProgramImage(code, Sets, Strings, ["a", "b", "c"]);
    }
}
