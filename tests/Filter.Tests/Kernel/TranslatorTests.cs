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
        var code = new List<Filter.VM.Instruction>
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

    private static int FieldOfSize(int size) => RecordLayout.Scalars.Last(f => f.Size == size).Offset;

    public static TheoryData<OpInfo> Opcodes()
    {
        var data = new TheoryData<OpInfo>();
        foreach (var op in InstructionSet.All) data.Add(op);
        return data;
    }

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

    /// <summary>A golden translation: a field compare is a load from the record, a spill, a reload and a jump.</summary>
    [Fact]
    public void AComparisonIsAFewInstructions()
    {
        var asm = new BpfAssembler();
        FilterTranslator.EmitBody(asm, TestPrograms.CompileAndVerify("uid == 1000"), new BodyLayout(Reg.R6));
        asm.Exit();
        Assert.Equal(
            """
            0: (61) r1 = *(u32 *)(r6 +76)
            1: (7b) *(u64 *)(r10 -128) = r1
            2: (79) r1 = *(u64 *)(r10 -128)
            3: (55) if r1 != 0x3e8 goto pc+2
            4: (b7) r0 = 1
            5: (05) goto pc+1
            6: (b7) r0 = 0
            7: (95) exit

            """, BpfDisassembler.Disassemble(asm.Marshal()));
    }
}
