using Filter.Kernel.Asm;
using Filter.Kernel.Translate;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Kernel;

/// <summary>The translator without the kernel: it has a case for every opcode, and its output marshals.</summary>
public class TranslatorTests
{
    /// <summary>
    /// A small verified program exercising <paramref name="op"/> on r0 (a field) and r1 (a0), then deciding on
    /// the outcome: every row of our instruction table, so the translator cannot lack one.
    /// </summary>
    internal static VerifiedProgram ProgramUsing(OpInfo op)
    {
        var code = new List<Instruction>
        {
            new(OpCode.Ldw, 0, 0, 0, 0, RecordLayout.Uid),
            new(OpCode.Lddw, 1, 0, 0, 0, RecordLayout.A0),
        };
        var sets = new List<ValueSet>();
        var strings = new List<byte[]>();
        switch (op.Jump)
        {
            case JumpKind.Return:
                code.Add(new(op.Code, 0, 0, 0, 0, 1));
                break;
            case JumpKind.Always:
                code.Add(new(op.Code, 0, 0, 0, 0, 0));
                code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
                break;
            case JumpKind.Conditional:
                ulong imm = op.Imm switch
                {
                    Operand.Set => Add(sets, new ValueSet(false, [new(0, 1000), new(4000, 4000), new(0xffff_ffff, 0x1_0000_0000)])),
                    Operand.String => Add(strings, "bash"u8.ToArray()),
                    Operand.Imm => 1000,
                    _ => 0,
                };
                byte a = op.A == Operand.StringField ? (byte)RecordLayout.CommDescriptor : (byte)0;
                byte b = op.B == Operand.RegRead ? (byte)1 : (byte)0;
                code.Add(new(op.Code, a, b, 0, 1, imm));
                code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
                code.Add(new(OpCode.Ret, 0, 0, 0, 0, 0));
                break;
            case JumpKind.Switch:
                // Three cases (pcs 3-5: verdicts 1, 0, 1), the default at pc 6.
                ulong set = Add(sets, new ValueSet(false, [new(0, 1000), new(4000, 4000), new(0xffff_ffff, 0x1_0000_0000)]));
                code.Add(new(op.Code, 0, 0, 0, 3, set));
                code.AddRange([new(OpCode.Ret, 0, 0, 0, 0, 1), new(OpCode.Ret, 0, 0, 0, 0, 0), new(OpCode.Ret, 0, 0, 0, 0, 1), new(OpCode.Ret, 0, 0, 0, 0, 0)]);
                break;
            default:
                ulong k = op.Imm == Operand.Imm ? 3UL : 0UL;
                code.Add(new(op.Code, 0, op.B == Operand.RegRead ? (byte)1 : (byte)0, 0, 0, op.Imm == Operand.Field ? (ulong)FieldOfSize(op.LoadSize) : k));
                code.Add(new(OpCode.JgtK, 0, 0, 0, 1, 5000));
                code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
                code.Add(new(OpCode.Ret, 0, 0, 0, 0, 0));
                break;
        }
        var result = V.Verify(new ProgramImage(code, sets, strings, ["a", "b"]));
        Assert.True(result.Ok, $"{op.Mnemonic}: {result.Error}");
        return result.Program!;

        static ulong Add<T>(List<T> list, T item)
        {
            list.Add(item);
            return (ulong)list.Count - 1;
        }
    }

    private static int FieldOfSize(int size) => RecordLayout.Scalars.Last(f => f.Size == size && KernelSupport.GatheredFields.Contains(f.Name)).Offset;

    public static TheoryData<OpInfo> Opcodes()
    {
        var data = new TheoryData<OpInfo>();
        foreach (var op in InstructionSet.All) data.Add(op);
        return data;
    }

    [Theory]
    [InlineData("time >= 1", "'time'")]
    [InlineData("serial == 5 || uid == 0", "'serial'")]
    [InlineData("items > 0 && nametype0 == 1", "'items', 'nametype0'")]
    public void FieldsTheKernelDoesNotGatherAreRefusedByName(string filter, string named)
    {
        var error = KernelSupport.Check(TestPrograms.CompileAndVerify(filter));
        Assert.NotNull(error);
        Assert.Contains($"reads {named}, which the kernel engine does not gather", error.Message);
    }

    [Fact]
    public void TheFirstLayoutsFieldsRunInTheKernel() =>
        Assert.Null(KernelSupport.Check(TestPrograms.CompileAndVerify("uid == 0 && comm == \"sh\" && exe startswith \"/tmp/\" && exe endswith \"/x\" && comm contains \"s\" && sig == 0")));

    [Theory]
    [MemberData(nameof(Opcodes))]
    public void EveryOpcodeTranslates(OpInfo op)
    {
        var asm = new BpfAssembler();
        FilterTranslator.EmitBody(asm, ProgramUsing(op), new BodyLayout(Reg.R6));
        asm.Exit();
        var code = asm.Marshal();
        Assert.DoesNotContain("unknown", BpfDisassembler.Disassemble(code));
    }

    /// <summary>A golden translation: a field compare is a load from the record, a store to our register (after the record), its load and a jump.</summary>
    [Fact]
    public void AComparisonIsAFewInstructions()
    {
        var asm = new BpfAssembler();
        FilterTranslator.EmitBody(asm, TestPrograms.CompileAndVerify("uid == 1000"), new BodyLayout(Reg.R6));
        asm.Exit();
        Assert.Equal(
            $"""
            0: (61) r1 = *(u32 *)(r6 +{RecordLayout.Uid})
            1: (7b) *(u64 *)(r6 +{KernelRecord.RegistersFromRecord}) = r1
            2: (79) r1 = *(u64 *)(r6 +{KernelRecord.RegistersFromRecord})
            3: (55) if r1 != 0x3e8 goto pc+2
            4: (b7) r0 = 1
            5: (05) goto pc+1
            6: (b7) r0 = 0
            7: (95) exit

            """, BpfDisassembler.Disassemble(asm.Marshal()));
    }
}

/// <summary>
/// Programs our verifier accepts but the kernel's cannot: the translation says which limit they pass
/// (spec/limits.md) before anything is loaded.
/// </summary>
public class KernelLimitTests
{
    internal static Filter.Kernel.Sys.KernelError? Check(ProgramImage image)
    {
        var result = V.Verify(image);
        Assert.True(result.Ok, result.Error?.ToString());
        var asm = new BpfAssembler();
        FilterTranslator.EmitBody(asm, result.Program!, new BodyLayout(Reg.R6));
        asm.Exit();
        return KernelLimits.Check(asm.Marshal(), "the filter");
    }

    /// <summary>A chain of tests, each jumping to the last instruction (ret #1) when it holds, else on to the next.</summary>
    private static List<Instruction> Chain(int tests, Func<int, Instruction> test, params Instruction[] prologue)
    {
        var code = new List<Instruction>(prologue);
        for (int i = 0; i < tests; i++) code.Add(test(i) with { Jt = (ushort)(tests - i), Jf = 0 });
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 0));
        code.Add(new(OpCode.Ret, 0, 0, 0, 0, 1));
        return code;
    }

    [Fact]
    public void TooManyInstructionsIsALimitError()
    {
        // A 4,096-byte string test is about 2,570 eBPF instructions: 200 of them are too many, 190 fit.
        var strings = Enumerable.Range(0, 200).Select(i => Enumerable.Repeat((byte)('a' + i % 26), 4096).ToArray()).ToList();
        var code = Chain(200, i => new(OpCode.JstrEq, (byte)RecordLayout.ExeDescriptor, 0, 0, 0, (ulong)i));
        var error = Check(new ProgramImage(code, [], strings, [""]));
        Assert.Equal(Filter.Kernel.Sys.KernelErrorKind.Limit, error?.Kind);
        Assert.Contains($"at most {KernelLimits.MaxInstructions:N0} load", error!.Message);
        Assert.Null(Check(new ProgramImage(Chain(190, i => code[i]), [], strings.Take(190).ToList(), [""])));
    }

    [Fact]
    public void TooManyBranchesOnAPathIsALimitError()
    {
        // 64 values: 4 levels of the compare tree and 4 compares in a leaf, 8 branches per test.
        var sets = Enumerable.Range(0, 1100).Select(i => new ValueSet(false, Enumerable.Range(0, 64).Select(j => new ValueRange((ulong)(j * 3 + i % 3), (ulong)(j * 3 + i % 3))))).ToList();
        var load = new Instruction(OpCode.Lddw, 0, 0, 0, 0, RecordLayout.A0);
        var error = Check(new ProgramImage(Chain(1100, i => new(OpCode.Jin, 0, 0, 0, 0, (ulong)i), load), sets, [], [""]));
        Assert.Equal(Filter.Kernel.Sys.KernelErrorKind.Limit, error?.Kind);
        Assert.Contains("the kernel's verifier refuses more than 8,192", error!.Message);
        Assert.Null(Check(new ProgramImage(Chain(300, i => new(OpCode.Jin, 0, 0, 0, 0, (ulong)i), load), sets.Take(300).ToList(), [], [""])));
    }
}
