using Filter.Tests.Engines;
using Filter.Verifier;
using Filter.VM;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Verifier;

/// <summary>Hand-written programs, one or more per verifier rule: each must be rejected with that rule at that pc.</summary>
public class VerifierTests
{
    private static VerifyResult VerifyAsm(string asm)
    {
        var (image, error) = Assembler.Assemble(asm);
        Assert.Null(error);
        return V.Verify(image!);
    }

    private static void AssertRejected(string asm, DiagnosticCode rule, int pc)
    {
        var result = VerifyAsm(asm);
        Assert.False(result.Ok, "program was accepted:\n" + asm);
        Assert.Equal(rule, result.Error!.Code);
        Assert.Equal(pc, result.Error.Location.Pc);
    }

    private const string Verdict = ".verdict 1 \"\"\n";

    [Fact]
    public void AcceptsAMinimalProgram()
    {
        var result = VerifyAsm(Verdict + "ret #1");
        Assert.True(result.Ok);
        Assert.Equal(1, result.Program!.MaxPathLength);
    }

    [Theory]
    [InlineData("ldw r0, [uid]\njeq r0, #0 jt 3 jf 3\nret #0\nret #1", DiagnosticCode.Reachable, 2)] // pc 2 unreachable
    [InlineData("ldw r0, [uid]\njeq r0, #0 jt 5 jf 2\nret #0", DiagnosticCode.JumpInRange, 1)]        // jump past the end
    [InlineData("ja 9\nret #0", DiagnosticCode.JumpInRange, 0)]
    [InlineData("ldw r0, [uid]", DiagnosticCode.EndsInReturn, 0)]                                    // falls off the end
    [InlineData("ldw r0, [uid]\njeq r0, #1 jt 2 jf 3\nmov r1, #0\njeq r1, #0 jt 4 jf 4\nret #1", DiagnosticCode.InitialisedRegister, 3)] // r1 written on one path only
    [InlineData("jeq r3, #0 jt 1 jf 2\nret #0\nret #1", DiagnosticCode.InitialisedRegister, 0)]
    [InlineData("add r0, #1\nret #0", DiagnosticCode.InitialisedRegister, 0)]                         // read-modify-write reads
    [InlineData("ldw r0, [4096]\nret #0", DiagnosticCode.FieldLoad, 0)]                               // out-of-range load
    [InlineData("ldw r0, [2]\nret #0", DiagnosticCode.FieldLoad, 0)]                                  // misaligned: inside arch
    [InlineData("ldw r0, [exit]\nret #0", DiagnosticCode.FieldLoad, 0)]                               // 4 bytes of an 8-byte field
    [InlineData("lddw r0, [uid]\nret #0", DiagnosticCode.FieldLoad, 0)]                               // 8 bytes of a 4-byte field
    [InlineData("ldb r0, [120]\nret #0", DiagnosticCode.FieldLoad, 0)]                                // a string descriptor is not a scalar
    [InlineData("mov r16, #0\nret #0", DiagnosticCode.RegisterRange, 0)]
    [InlineData("jin r0, set0 jt 1 jf 1\nret #0", DiagnosticCode.ConstantIndex, 0)]                   // no sets
    [InlineData("jstreq [exe], str0 jt 1 jf 1\nret #0", DiagnosticCode.ConstantIndex, 0)]             // no strings
    [InlineData("jstreq [64], str0 jt 1 jf 1\nret #0", DiagnosticCode.StringField, 0)]
    [InlineData("ret #2", DiagnosticCode.VerdictRange, 0)]                                            // one verdict declared
    [InlineData(".raw 0xff, 0, 0, 0, 0, 0, 0", DiagnosticCode.KnownOpcode, 0)]
    [InlineData(".raw 0x01, 0, 0, 1, 0, 0, 0", DiagnosticCode.UnusedZero, 0)]                         // reserved byte
    [InlineData(".raw 0x01, 3, 0, 0, 0, 0, 0", DiagnosticCode.UnusedZero, 0)]                         // ret with slot A
    [InlineData(".raw 0x01, 0, 0, 0, 1, 0, 0\nret #0", DiagnosticCode.UnusedZero, 0)]                 // ret with a jump offset
    public void RejectsWithRuleAndPc(string body, DiagnosticCode rule, int pc) => AssertRejected(Verdict + body, rule, pc);

    [Fact]
    public void RejectsEmptyProgram() => AssertRejected(Verdict, DiagnosticCode.Length, -1);

    [Fact]
    public void RejectsOversizedProgram()
    {
        var code = Enumerable.Repeat(new Instruction(OpCode.MovK, 0, 0, 0, 0, 1), InstructionSet.MaxInstructions)
            .Append(new Instruction(OpCode.Ret, 0, 0, 0, 0, 0)).ToList();
        var result = V.Verify(new ProgramImage(code, [], [], []));
        Assert.Equal(DiagnosticCode.Length, result.Error!.Code);
        Assert.Contains("65537 instructions; at most 65536", result.Error.Message);
    }

    [Fact]
    public void EveryCaseOfAJswitchMustLandInTheProgram()
    {
        const string set = ".set 0 unsigned 1, 5..7\nldw r0, [uid]\n";
        // Cases at pcs 2 and 3, the default at 4.
        var ok = VerifyAsm(Verdict + set + "jswitch r0, set0 jt 2 jf 4\nret #0\nret #1\nret #0");
        Assert.True(ok.Ok, ok.Error?.ToString());
        Assert.Equal(3, ok.Program!.MaxPathLength);
        // The second case would be pc 4, past the end.
        var past = VerifyAsm(Verdict + set + "jswitch r0, set0 jt 3 jf 2\nret #0\nret #1");
        Assert.Equal((DiagnosticCode.JumpInRange, 1), (past.Error!.Code, past.Error.Location.Pc));
        // A case's target is a successor: pc 3 is reached only as the second case.
        var reached = VerifyAsm(Verdict + set + "jswitch r0, set0 jt 2 jf 2\nret #1\nret #0");
        Assert.True(reached.Ok, reached.Error?.ToString());
    }

    [Fact]
    public void AcceptsProgramOfExactlyTheMaximumLength()
    {
        var code = Enumerable.Repeat(new Instruction(OpCode.MovK, 0, 0, 0, 0, 1), InstructionSet.MaxInstructions - 1)
            .Append(new Instruction(OpCode.Ret, 0, 0, 0, 0, 0)).ToList();
        var result = V.Verify(new ProgramImage(code, [], [], []));
        Assert.True(result.Ok, result.Error?.ToString());
        Assert.Equal(InstructionSet.MaxInstructions, result.Program!.MaxPathLength);
    }

    [Theory]
    [InlineData(".set 0 unsigned 5..3", "range 0")]        // empty range
    [InlineData(".set 0 unsigned 5, 3", "range 1")]        // out of order
    [InlineData(".set 0 unsigned 1..5, 5..9", "range 1")]  // overlapping
    [InlineData(".set 0 signed 1, -1", "range 1")]         // out of order as signed values
    [InlineData(".set 0 unsigned", "empty")]
    public void RejectsMalformedSets(string set, string detail)
    {
        var result = VerifyAsm(Verdict + set + "\nldw r0, [uid]\njin r0, set0 jt 2 jf 3\nret #0\nret #1");
        Assert.Equal(DiagnosticCode.SetConstant, result.Error!.Code);
        Assert.Contains(detail, result.Error.Message);
    }

    /// <summary>
    /// A key the compiler refuses (FLT0304) was accepted in a program assembled by hand, and then printed by
    /// <c>run --keys</c> as a raw terminal escape and a forged second line.
    /// </summary>
    [Theory]
    [InlineData("\\x1b[31mRED\\n565488\\tforged-key\\x1b[0m", 0x1b, 0)]
    [InlineData("a\\nb", 0x0a, 1)]
    [InlineData("tab\\t", 0x09, 3)]
    [InlineData("del\\x7f", 0x7f, 3)]
    [InlineData("c1\\xc2\\x85", 0x85, 2)]
    public void RejectsKeysWithControlCharacters(string key, int character, int at)
    {
        var result = VerifyAsm($".verdict 1 \"{key}\"\nret #1\n");
        Assert.Equal((DiagnosticCode.KeyText, -1), (result.Error?.Code, result.Error?.Location.Pc));
        Assert.Equal($"key of verdict 1 holds U+{character:X4} at character {at}; keys hold no control character but \\x01", result.Error!.Message);
    }

    [Fact]
    public void AcceptsTheKernelsKeySeparator() =>
        Assert.True(VerifyAsm(".verdict 1 \"a\\x01b\"\nret #1\n").Ok);

    [Fact]
    public void RejectsOverlongString()
    {
        var image = new ProgramImage([new Instruction(OpCode.Ret, 0, 0, 0, 0, 0)], [], [new byte[ProgramLimits.MaxStringLength + 1]], []);
        Assert.Equal(DiagnosticCode.StringConstant, V.Verify(image).Error!.Code);
    }

    [Theory]
    [InlineData(0, "shorter than the 32-byte header")]
    [InlineData(1, "bad magic")]
    [InlineData(2, "unsupported format version")]
    [InlineData(3, "instructions but the file holds")]
    [InlineData(4, "unexpected bytes after the last section")]
    [InlineData(5, "sets but the file is too short")]
    public void RejectsMalformedContainers(int corruption, string message)
    {
        var bytes = TestPrograms.Compile("uid == 0").Image!.Encode();
        switch (corruption)
        {
            case 0: bytes = bytes[..20]; break;
            case 1: bytes[0] = (byte)'X'; break;
            case 2: bytes[4] = 9; break;
            case 3: bytes[8] = 200; break;
            case 4: bytes = [.. bytes, 0]; break;
            case 5: bytes[12] = 255; bytes[13] = 255; break;
        }
        var result = V.Verify(bytes);
        Assert.Equal(DiagnosticCode.Format, result.Error!.Code);
        Assert.Contains(message, result.Error.Message);
    }

    [Fact]
    public void ErrorNamesInstructionAndRule()
    {
        var result = VerifyAsm(Verdict + "ldw r0, [uid]\njeq r0, #0 jt 40 jf 2\nret #0\nret #1");
        Assert.Equal("prog: pc 1: error FLT2009: jump target 40 is past the end (4 instructions) [jump-in-range]", result.Error!.In("prog").Render());
    }

    [Fact]
    public void MaxPathLengthIsTheLongestPath()
    {
        var result = VerifyAsm(Verdict + "ldw r0, [uid]\njeq r0, #0 jt 2 jf 4\nmov r1, #1\nmov r1, #2\nret #1");
        Assert.Equal(5, result.Program!.MaxPathLength);
    }
}
