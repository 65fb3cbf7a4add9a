using Filter.VM;
using Xunit;

namespace Filter.Tests.Tools;

/// <summary>
/// A test-only interpreter that counts the instructions it executes, over the verified program's decoded
/// code (<see cref="VerifiedProgram.Image"/>): the engines are not instrumented, so their hot loops stay as
/// they are. Its verdict is checked against <see cref="Interpreter.Run"/> on every call, so this copy of the
/// instruction semantics cannot drift from the real one unnoticed.
/// </summary>
public static class CountingInterpreter
{
    public static (uint Verdict, int Executed) Run(VerifiedProgram program, byte[] recordBytes)
    {
        var record = new Record(recordBytes);
        var code = program.Image.Code;
        var regs = new ulong[InstructionSet.RegisterCount];
        int pc = 0, executed = 0;
        while (true)
        {
            var i = code[pc];
            executed++;
            ref ulong a = ref regs[i.A < regs.Length ? i.A : 0];
            ulong b = regs[i.B < regs.Length ? i.B : 0];
            bool? jump = null;
            switch (i.Op)
            {
                case OpCode.Ret:
                    Assert.Equal(Interpreter.Run(program, record), (uint)i.Imm);
                    return ((uint)i.Imm, executed);
                case OpCode.Ldb or OpCode.Ldw or OpCode.Lddw: a = record.Load(RecordLayout.ScalarAt((long)i.Imm)!); break;
                case OpCode.MovK: a = i.Imm; break;
                case OpCode.MovX: a = b; break;
                case OpCode.AddK: a += i.Imm; break;
                case OpCode.AddX: a += b; break;
                case OpCode.SubK: a -= i.Imm; break;
                case OpCode.SubX: a -= b; break;
                case OpCode.AndK: a &= i.Imm; break;
                case OpCode.AndX: a &= b; break;
                case OpCode.OrK: a |= i.Imm; break;
                case OpCode.OrX: a |= b; break;
                case OpCode.XorK: a ^= i.Imm; break;
                case OpCode.XorX: a ^= b; break;
                case OpCode.LshK: a = Semantics.Lsh(a, i.Imm); break;
                case OpCode.LshX: a = Semantics.Lsh(a, b); break;
                case OpCode.RshK: a = Semantics.Rsh(a, i.Imm); break;
                case OpCode.RshX: a = Semantics.Rsh(a, b); break;
                case OpCode.ArshK: a = Semantics.Arsh(a, i.Imm); break;
                case OpCode.ArshX: a = Semantics.Arsh(a, b); break;
                case OpCode.Neg: a = 0 - a; break;
                case OpCode.Not: a = ~a; break;
                case OpCode.Ja: jump = true; break;
                case OpCode.JeqK: jump = a == i.Imm; break;
                case OpCode.JeqX: jump = a == b; break;
                case OpCode.JgtK: jump = a > i.Imm; break;
                case OpCode.JgtX: jump = a > b; break;
                case OpCode.JgeK: jump = a >= i.Imm; break;
                case OpCode.JgeX: jump = a >= b; break;
                case OpCode.JsgtK: jump = (long)a > (long)i.Imm; break;
                case OpCode.JsgtX: jump = (long)a > (long)b; break;
                case OpCode.JsgeK: jump = (long)a >= (long)i.Imm; break;
                case OpCode.JsgeX: jump = (long)a >= (long)b; break;
                case OpCode.JsetK: jump = (a & i.Imm) != 0; break;
                case OpCode.JsetX: jump = (a & b) != 0; break;
                case OpCode.Jin: jump = program.Image.Sets[(int)i.Imm].Contains(a); break;
                case OpCode.Jswitch:
                    int c = program.Image.Sets[(int)i.Imm].IndexOf(a);
                    pc = c < 0 ? i.FalseTarget(pc) : i.TrueTarget(pc) + c;
                    continue;
                case OpCode.JstrEq: jump = Semantics.StringField(record, i.A).SequenceEqual(program.Image.Strings[(int)i.Imm].AsSpan()); break;
                case OpCode.JstrPrefix: jump = Semantics.StringField(record, i.A).StartsWith(program.Image.Strings[(int)i.Imm].AsSpan()); break;
                case OpCode.JstrSuffix: jump = Semantics.StringField(record, i.A).EndsWith(program.Image.Strings[(int)i.Imm].AsSpan()); break;
                case OpCode.JstrContains: jump = Semantics.StringField(record, i.A).IndexOf(program.Image.Strings[(int)i.Imm].AsSpan()) >= 0; break;
                default: throw new InvalidOperationException($"the counting interpreter has no case for {i.Op}");
            }
            pc = jump is null ? pc + 1 : jump.Value ? i.TrueTarget(pc) : i.FalseTarget(pc);
        }
    }

    [Fact]
    public static void EveryOpcodeHasACase()
    {
        // A new opcode must be added here too (the default case throws): list the table's opcodes this file names.
        var text = File.ReadAllText(Path.Combine(SourceDirectory(), "CountingInterpreter.cs"));
        foreach (var info in InstructionSet.All)
            Assert.Contains($"OpCode.{info.Code}", text);
    }

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
