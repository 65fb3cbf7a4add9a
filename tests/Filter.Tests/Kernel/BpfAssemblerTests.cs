using Filter.Kernel.Asm;
using Filter.Kernel.Sys;
using Xunit;

namespace Filter.Tests.Kernel;

public class BpfAssemblerTests
{
    public static TheoryData<InsnInfo> Rows()
    {
        var data = new TheoryData<InsnInfo>();
        foreach (var row in InstructionTable.All) data.Add(row);
        return data;
    }

    /// <summary>Every row of the table can be emitted, marshals to its opcode, and prints as the kernel's log would.</summary>
    [Theory]
    [MemberData(nameof(Rows))]
    public void EveryRowEncodesAndPrints(InsnInfo row)
    {
        var asm = new BpfAssembler();
        var target = asm.NewLabel();
        bool jumps = row.Format is InsnFormat.JumpImm or InsnFormat.JumpReg or InsnFormat.Goto or InsnFormat.GotoLong;
        long imm = row.Format switch
        {
            InsnFormat.LoadImm64 => 0x1_2345_6789,
            InsnFormat.AtomicAdd => (int)AluOp.Add,
            InsnFormat.Call => (int)HelperId.KtimeGetNs,
            _ => 5,
        };
        asm.Emit(new BpfInstruction(row.Op, Reg.R1, row.Format == InsnFormat.LoadImm64 ? Reg.R0 : Reg.R2, row.Format is InsnFormat.Load or InsnFormat.Store or InsnFormat.StoreImm or InsnFormat.AtomicAdd ? (short)-8 : (short)0,
            imm, jumps ? target : null));
        asm.Mark(target);
        asm.Exit();
        var code = asm.Marshal();
        Assert.Equal(row.Op.Value, code[0].Opcode);
        Assert.Equal(row.Format switch { InsnFormat.LoadImm64 => 3, InsnFormat.Exit => 1, _ => 2 }, code.Length); // after exit, nothing is reachable
        string text = BpfDisassembler.Format(code[0], row.Format == InsnFormat.LoadImm64 ? code[1].Imm : null);
        Assert.DoesNotContain("unknown", text);
        string expected = row.Format switch
        {
            InsnFormat.AluImm when row.Op.AluOp == AluOp.Mov => row.Is32 ? "w1 = 5" : "r1 = 5",
            InsnFormat.AluReg when row.Op.AluOp == AluOp.Mov => row.Is32 ? "w1 = w2" : "r1 = r2",
            InsnFormat.AluNeg => row.Is32 ? "w1 = -w1" : "r1 = -r1",
            InsnFormat.JumpImm => $"if {(row.Is32 ? "w1" : "r1")} {row.Symbol} 0x5 goto pc+0",
            InsnFormat.Goto => "goto pc+0",
            InsnFormat.GotoLong => "gotol pc+0",
            InsnFormat.Call => "call bpf_ktime_get_ns#5",
            InsnFormat.Exit => "exit",
            InsnFormat.Load => $"r1 = *({row.Symbol} *)(r2 -8)",
            InsnFormat.AtomicAdd => $"lock *({row.Symbol} *)(r1 -8) += r2",
            InsnFormat.LoadImm64 => "r1 = 0x123456789 ll",
            _ => text,
        };
        Assert.Equal(expected, text);
    }

    [Fact]
    public void OnlyTableOpcodesCanBeEmitted()
    {
        var asm = new BpfAssembler();
        Assert.Throws<ArgumentException>(() => asm.Emit(new BpfInstruction(new Opcode(0xff), 0, 0, 0, 0)));
        Assert.Throws<ArgumentException>(() => asm.Emit(new BpfInstruction(Opcode.Jump(OpClass.Jmp, JumpOp.Jeq, OpSource.K), 0, 0, 0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => asm.Emit(new BpfInstruction(Opcode.Alu(OpClass.Alu64, AluOp.Add, OpSource.K), Reg.R1, 0, 0, 1L << 40)));
    }

    [Fact]
    public void UnmarkedLabelsAreABug()
    {
        var asm = new BpfAssembler();
        asm.Goto(asm.NewLabel("nowhere"));
        var e = Assert.Throws<InvalidOperationException>(() => asm.Marshal());
        Assert.Contains("nowhere", e.Message);
    }

    [Fact]
    public void WideLoadTakesTwoSlots()
    {
        var asm = new BpfAssembler();
        asm.MovImm(Reg.R1, -1);
        asm.MovImm(Reg.R2, 0x7fff_ffff_ffff_ffff);
        asm.Exit();
        var code = asm.Marshal();
        Assert.Equal(4, code.Length);
        Assert.Equal("r1 = -1", BpfDisassembler.Format(code[0]));
        Assert.Equal("r2 = 0x7fffffffffffffff ll", BpfDisassembler.Format(code[1], code[2].Imm));
        Assert.Equal(-1, code[1].Imm);
        Assert.Equal(0x7fff_ffff, code[2].Imm);
    }

    /// <summary>A jump past 32,767 slots becomes gotol: inverted conditions, jset as three slots, goto as one; near jumps stay short.</summary>
    [Fact]
    public void FarJumpsBecomeGotol()
    {
        var asm = new BpfAssembler();
        var far = asm.NewLabel("far");
        var near = asm.NewLabel("near");
        var body = asm.NewLabel("body");
        asm.Jump(JumpOp.Jgt, Reg.R1, 5, far);
        asm.Jump(JumpOp.Jset, Reg.R1, 4, far);
        asm.Jump(JumpOp.Jeq, Reg.R1, 1, near);
        asm.Mark(near);
        asm.Jump(JumpOp.Jne, Reg.R1, 2, body);
        asm.Goto(far);
        asm.Mark(body);
        for (int i = 0; i < 40_000; i++) asm.MovImm(Reg.R0, i);
        asm.Mark(far);
        asm.Exit();
        var code = asm.Marshal();
        Assert.Equal("if r1 <= 0x5 goto pc+1", BpfDisassembler.Format(code[0]));
        Assert.Equal("gotol pc+40006", BpfDisassembler.Format(code[1]));
        Assert.Equal("if r1 & 0x4 goto pc+1", BpfDisassembler.Format(code[2]));
        Assert.Equal("goto pc+1", BpfDisassembler.Format(code[3]));
        Assert.Equal("gotol pc+40003", BpfDisassembler.Format(code[4]));
        Assert.Equal("if r1 == 0x1 goto pc+0", BpfDisassembler.Format(code[5]));
        Assert.Equal("if r1 != 0x2 goto pc+1", BpfDisassembler.Format(code[6]));
        Assert.Equal("gotol pc+40000", BpfDisassembler.Format(code[7]));
        Assert.Equal(8 + 40_000 + 1, code.Length);
        // Each gotol lands on the exit.
        foreach (int at in new[] { 1, 4, 7 }) Assert.Equal(code.Length - 1, at + 1 + code[at].Imm);
    }

    /// <summary>The kernel refuses unreachable instructions: they are dropped, and labels after them move.</summary>
    [Fact]
    public void UnreachableInstructionsAreDropped()
    {
        var asm = new BpfAssembler();
        var end = asm.NewLabel("end");
        asm.Jump(JumpOp.Jeq, Reg.R1, 0, end);
        asm.Goto(end);
        asm.MovImm(Reg.R0, 1); // no path
        asm.MovImm(Reg.R0, 2); // no path
        asm.Mark(end);
        asm.Exit();
        Assert.Equal("0: (15) if r1 == 0x0 goto pc+1\n1: (05) goto pc+0\n2: (95) exit\n", BpfDisassembler.Disassemble(asm.Marshal()));
    }

    [Fact]
    public void EveryConditionHasItsInverseOrNone()
    {
        foreach (var row in InstructionTable.All.Where(r => r.Format == InsnFormat.JumpImm))
        {
            var inverse = InstructionTable.Inverse(row.Op.JumpOp);
            if (row.Op.JumpOp == JumpOp.Jset) Assert.Null(inverse);
            else Assert.Equal(row.Op.JumpOp, InstructionTable.Inverse(inverse!.Value));
        }
    }
}
