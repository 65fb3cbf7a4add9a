using Filter.Tests.Engines;
using Filter.VM;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.VM;

/// <summary>
/// Every row of the instruction table is handled by every consumer: the assembler and disassembler
/// (round trip), the verifier (accepts a well-formed use) and the interpreter (runs it).
/// </summary>
public class InstructionSetTests
{
    [Fact]
    public void EveryOpcodeHasExactlyOneRow()
    {
        Assert.Equal(Enum.GetValues<OpCode>().Order(), InstructionSet.All.Select(o => o.Code).Order());
    }

    [Fact]
    public void SiblingsAreTheSameOperationInItsOtherForm()
    {
        foreach (var op in InstructionSet.All.Where(o => o.Sibling is not null))
        {
            var other = InstructionSet.Get(op.Sibling!.Value);
            Assert.Equal(op.Code, other.Sibling);
            Assert.Equal((op.Mnemonic, op.A, op.Jump, op.Signed), (other.Mnemonic, other.A, other.Jump, other.Signed));
            Assert.True(op.IsK ^ other.IsK && op.IsX ^ other.IsX && op.IsK != op.IsX, $"{op.Code} and {other.Code}");
        }
        // Every operation with an immediate or register operand has both forms.
        Assert.All(InstructionSet.All.Where(o => o.IsK || o.IsX), o => Assert.NotNull(o.Sibling));
    }

    /// <summary>A small verified program that executes <paramref name="op"/>, written in assembly.</summary>
    public static string ProgramUsing(OpInfo op)
    {
        const string header = ".verdict 1 \"k\"\n.set 0 unsigned 1..3, 59\n.string 0 \"/usr/\"\nldw r0, [uid]\nlddw r1, [a0]\n";
        // A jswitch over set 0 (two ranges): case 0 to pc 3, case 1 to pc 4, others to pc 5.
        string jumps = op.Jump switch { JumpKind.Conditional => " jt 3 jf 4", JumpKind.Switch => " jt 3 jf 5", _ => "" };
        string line = (op.A, op.B, op.Imm) switch
        {
            (Operand.None, Operand.None, Operand.Verdict) => "ret #1",
            (_, _, Operand.Field) => $"{op.Mnemonic} r2, [{RecordLayout.Scalars.First(f => f.Size == op.LoadSize).Name}]",
            (Operand.StringField, _, Operand.String) => $"{op.Mnemonic} [exe], str0{jumps}",
            (_, _, Operand.Set) => $"{op.Mnemonic} r0, set0{jumps}",
            (Operand.None, Operand.None, Operand.None) => "ja 3",
            (_, Operand.None, Operand.None) => $"{op.Mnemonic} r0",
            (_, Operand.None, Operand.Imm) => $"{op.Mnemonic} r0, #7{jumps}",
            (_, _, Operand.None) => $"{op.Mnemonic} r0, r1{jumps}",
            _ => throw new InvalidOperationException($"no test program shape for {op.Code}"),
        };
        string tail = op.Jump switch
        {
            JumpKind.Return => "",
            JumpKind.Conditional => "ret #1\nret #0\n",
            JumpKind.Switch => "ret #1\nret #0\nret #0\n",
            _ => "ret #1\n",
        };
        return header + line + "\n" + tail;
    }

    public static TheoryData<OpCode> AllOpcodes()
    {
        var data = new TheoryData<OpCode>();
        foreach (var op in InstructionSet.All) data.Add(op.Code);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllOpcodes))]
    public void EveryConsumerHandlesTheOpcode(OpCode code)
    {
        var op = InstructionSet.Get(code);
        var (image, error) = Assembler.Assemble(ProgramUsing(op));
        Assert.Null(error);
        Assert.Equal(code, image!.Code[2].Op);
        var bytes = image.Encode();
        var result = V.Verify(bytes);
        Assert.True(result.Ok, result.Error?.ToString());
        string text = Disassembler.Disassemble(image);
        Assert.DoesNotContain(".raw", text);
        Assert.Equal(bytes, Assembler.Assemble(text).Image!.Encode());
        foreach (var record in FilterGenRecords.Sample)
            Assert.InRange(Interpreter.Run(result.Program!, new Record(record)), 0u, 1u);
    }

    [Fact]
    public void OpcodeValuesAndMnemonicRowsAreUnique()
    {
        Assert.Equal(InstructionSet.All.Count, InstructionSet.All.Select(o => o.Code).Distinct().Count());
        foreach (var rows in InstructionSet.ByMnemonic.Values)
            Assert.Equal(rows.Length, rows.Select(r => (r.A, r.B, r.Imm)).Distinct().Count());
    }

    [Fact]
    public void InterpreterAllocatesNothingPerRecord()
    {
        var program = TestPrograms.CompileAndVerify("syscall in (execve, fork, clone) && uid != 0 || exe startswith \"/tmp/\" || a2 & 0x40 != 0");
        var records = FilterGenRecords.Sample;
        uint sink = 0;
        foreach (var r in records) sink += Interpreter.Run(program, new Record(r));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) sink += Interpreter.Run(program, new Record(records[i % records.Count]));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(sink > 0);
    }
}

/// <summary>A fixed sample of random records (deterministic), shared by VM tests.</summary>
public static class FilterGenRecords
{
    public static readonly IReadOnlyList<byte[]> Sample =
        FsCheck.Fluent.Gen.Sample(Properties.FilterGen.Record, 10, 64).ToList();
}
