using Filter.Kernel.Translate;
using Filter.Tests.Properties;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using FRecord = Filter.Bytecode.Record;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Jit;

/// <summary>
/// Random bytecode, not random filters: the compiler never emits most shapes (X-form shifts by loaded
/// counts, arsh, jset X, chains of arithmetic), so programs are generated instruction by instruction.
/// Registers r0..r3 are written by a straight-line prologue, so every later read is defined; the body
/// mixes every ALU op, loads, conditional jumps (forward, in range) and returns. Programs the verifier
/// rejects (a return or ja leaving the next instruction unreachable) are discarded; on every accepted
/// one, interpreter and JIT must agree on every record and neither may throw.
/// </summary>
public class JitProperties
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    private const int Registers = 4;
    private const byte MaxVerdict = 3;

    private static readonly OpCode[] AluK = [OpCode.MovK, OpCode.AddK, OpCode.SubK, OpCode.AndK, OpCode.OrK, OpCode.XorK, OpCode.LshK, OpCode.RshK, OpCode.ArshK];
    private static readonly OpCode[] AluX = [OpCode.MovX, OpCode.AddX, OpCode.SubX, OpCode.AndX, OpCode.OrX, OpCode.XorX, OpCode.LshX, OpCode.RshX, OpCode.ArshX];
    private static readonly OpCode[] JumpK = [OpCode.JeqK, OpCode.JgtK, OpCode.JgeK, OpCode.JsgtK, OpCode.JsgeK, OpCode.JsetK];
    private static readonly OpCode[] JumpX = [OpCode.JeqX, OpCode.JgtX, OpCode.JgeX, OpCode.JsgtX, OpCode.JsgeX, OpCode.JsetX];

    /// <summary>One set per jin strategy of the JIT (mask, tree, signed tree, bitmap, matcher call).</summary>
    private static readonly ValueSet[] Sets =
    [
        new(false, [new(0, 0), new(5, 9), new(63, 63)]),
        new(false, [new(56, 60), new(231, 231), new(0xffffffff, 0x100000000)]),
        new(true, [new(unchecked((ulong)-5L), unchecked((ulong)-1L)), new(3, 3), new(0x7fffffffffffffff, 0x7fffffffffffffff)]),
        new(false, Enumerable.Range(0, 30).Select(i => new ValueRange((ulong)i * 11, (ulong)i * 11 + 2)).Append(new(4000, 4095))),
        new(true, Enumerable.Range(-15, 30).Select(i => new ValueRange(unchecked((ulong)(i * 1000L)), unchecked((ulong)(i * 1000L + 64))))),
    ];

    private static readonly byte[][] Strings = [[], "/tmp/"u8.ToArray(), "bash"u8.ToArray(), "/usr/bin/ls"u8.ToArray(), Enumerable.Repeat((byte)'x', 4096).ToArray()];

    private static Gen<byte> Reg => Gen.Choose(0, Registers - 1).Select(r => (byte)r);

    /// <summary>Immediates: FilterGen's extremes plus shift counts around 64.</summary>
    private static Gen<ulong> Imm => Gen.Frequency((4, FilterGen.Value), (1, Gen.Choose(0, 70).Select(i => (ulong)i)));

    /// <summary>The fields and string tests random programs use: all of them, or what the kernel engine runs.</summary>
    private sealed record Shapes(ScalarField[] Fields, OpCode[] StringOps, byte[] StringFields);

    private static readonly Shapes Everything = new([.. RecordLayout.Scalars],
        [OpCode.JstrEq, OpCode.JstrPrefix, OpCode.JstrSuffix, OpCode.JstrContains],
        [.. RecordLayout.Strings.Select(s => (byte)s.DescriptorOffset)]);

    private static readonly Shapes InTheKernel = new([.. RecordLayout.Scalars.Where(f => KernelSupport.GatheredFields.Contains(f.Name))],
        [OpCode.JstrEq, OpCode.JstrPrefix], [(byte)RecordLayout.CommDescriptor, (byte)RecordLayout.ExeDescriptor]);

    private static Gen<Instruction> Load(Shapes shapes, byte? register = null) =>
        from field in Gen.Elements(shapes.Fields)
        from r in register is { } fixedRegister ? Gen.Constant(fixedRegister) : Reg
        select new Instruction(field.Size switch { 1 => OpCode.Ldb, 4 => OpCode.Ldw, _ => OpCode.Lddw }, r, 0, 0, 0, (ulong)field.Offset);

    /// <summary>An instruction at <paramref name="pc"/> of a program whose last pc is <paramref name="last"/>.</summary>
    private static Gen<Instruction> Body(Shapes shapes, int pc, int last)
    {
        // Forward jumps, mostly short, never past the final ret.
        var offset = Gen.Choose(0, Math.Min(4, last - pc - 1)).Select(o => (ushort)o);
        return Gen.Frequency(
            (6, from op in Gen.Elements(AluK) from a in Reg from k in Imm select new Instruction(op, a, 0, 0, 0, k)),
            (6, from op in Gen.Elements(AluX) from a in Reg from b in Reg select new Instruction(op, a, b, 0, 0, 0)),
            (1, from op in Gen.Elements(OpCode.Neg, OpCode.Not) from a in Reg select new Instruction(op, a, 0, 0, 0, 0)),
            (2, Load(shapes)),
            (3, from op in Gen.Elements(JumpK) from a in Reg from k in Imm from jt in offset from jf in offset select new Instruction(op, a, 0, jt, jf, k)),
            (3, from op in Gen.Elements(JumpX) from a in Reg from b in Reg from jt in offset from jf in offset select new Instruction(op, a, b, jt, jf, 0)),
            (2, from a in Reg from s in Gen.Choose(0, Sets.Length - 1) from jt in offset from jf in offset select new Instruction(OpCode.Jin, a, 0, jt, jf, (ulong)s)),
            (2, Switch(pc, last, offset)),
            (1, from op in Gen.Elements(shapes.StringOps)
                from field in Gen.Elements(shapes.StringFields)
                from s in Gen.Choose(0, Strings.Length - 1) from jt in offset from jf in offset
                select new Instruction(op, field, 0, jt, jf, (ulong)s)),
            (1, from jt in offset select new Instruction(OpCode.Ja, 0, 0, jt, 0, 0)),
            (1, Ret));
    }

    /// <summary>A jswitch over a set whose cases all land in the program (a ja when none fits).</summary>
    private static Gen<Instruction> Switch(int pc, int last, Gen<ushort> offset)
    {
        int room = last - pc; // the targets pc + 1 .. last
        var fitting = Enumerable.Range(0, Sets.Length).Where(s => Sets[s].Ranges.Count <= room).ToArray();
        if (fitting.Length == 0) return offset.Select(jt => new Instruction(OpCode.Ja, 0, 0, jt, 0, 0));
        return from a in Reg
               from s in Gen.Elements(fitting)
               from jt in Gen.Choose(0, Math.Min(4, room - Sets[s].Ranges.Count))
               from jf in offset
               select new Instruction(OpCode.Jswitch, a, 0, (ushort)jt, jf, (ulong)s);
    }

    private static Gen<Instruction> Ret => Gen.Choose(0, MaxVerdict).Select(v => new Instruction(OpCode.Ret, 0, 0, 0, 0, (ulong)v));

    private static Gen<List<Instruction>> Code(Shapes shapes, int pc, int last) =>
        pc == last
            ? Ret.Select(i => new List<Instruction> { i })
            : (pc < Registers ? Gen.Frequency((3, Load(shapes, (byte)pc)), (1, Imm.Select(k => new Instruction(OpCode.MovK, (byte)pc, 0, 0, 0, k)))) : Body(shapes, pc, last))
                .SelectMany(i => Code(shapes, pc + 1, last).Select(rest => rest.Prepend(i).ToList()));

    private static Gen<ProgramImage> ProgramsOf(Shapes shapes) =>
        Gen.Choose(Registers + 1, Registers + 40).SelectMany(n => Code(shapes, 0, n - 1))
            .Select(code => new ProgramImage(MakeReachable(code), Sets, Strings, ["a", "b", "c"]));

    /// <summary>Random programs over every field and string test.</summary>
    internal static Gen<ProgramImage> Programs => ProgramsOf(Everything);

    /// <summary>Random programs over what the kernel engine runs (the fields it gathers, the string tests it translates).</summary>
    internal static Gen<ProgramImage> KernelPrograms => ProgramsOf(InTheKernel);

    /// <summary>
    /// Random jumps and returns leave instructions unreachable, which the verifier rejects (FLT2012). The
    /// first unreachable pc is made reachable by letting its (reachable) predecessor fall through to it: a
    /// conditional's jf or a ja's target becomes the next pc, a ret becomes a conditional jump to the final
    /// ret. That changes only edges to later pcs, so the first unreachable pc only grows: at most N rounds.
    /// </summary>
    private static List<Instruction> MakeReachable(List<Instruction> code)
    {
        while (FirstUnreachable(code) is int pc and > 0)
        {
            var prev = code[pc - 1];
            code[pc - 1] = prev.Op switch
            {
                OpCode.Ret => new Instruction(OpCode.JgtK, 0, 0, (ushort)(code.Count - 1 - pc), 0, prev.Imm * 1000),
                OpCode.Ja => prev with { Jt = 0 },
                _ => prev with { Jf = 0 },
            };
        }
        return code;
    }

    private static int FirstUnreachable(List<Instruction> code)
    {
        var reachable = new bool[code.Count];
        reachable[0] = true;
        for (int pc = 0; pc < code.Count; pc++)
        {
            if (!reachable[pc]) return pc;
            var i = code[pc];
            var jump = InstructionSet.Get(i.Op).Jump;
            if (jump == JumpKind.None) reachable[pc + 1] = true;
            if (jump is JumpKind.Always or JumpKind.Conditional) reachable[i.TrueTarget(pc)] = true;
            if (jump is JumpKind.Conditional or JumpKind.Switch) reachable[i.FalseTarget(pc)] = true;
            if (jump == JumpKind.Switch) reachable.AsSpan(i.TrueTarget(pc), Sets[(int)i.Imm].Ranges.Count).Fill(true);
        }
        return -1;
    }

    private static readonly byte[][] FixedRecords =
    [
        JitTests.Rec(),
        JitTests.Rec(ulong.MaxValue, 64, 0x8000000000000000, "bash", "/tmp/x"),
        JitTests.Rec(63, 65, 1, "", new string('x', 4096)),
    ];

    [Fact]
    public void InterpreterAndJitAgreeOnRandomVerifiedBytecode()
    {
        int accepted = 0, tried = 0;
        var config = Config.QuickThrowOnFailure.WithMaxTest(Iterations(300));
        var cases = Gen.Zip(Programs, FilterGen.Record.ArrayOf(12)).ToArbitrary();
        Check.One(config, Prop.ForAll(cases, c =>
        {
            tried++;
            var result = V.Verify(c.Item1);
            if (!result.Ok) return; // not a verified program: outside both engines' contract
            accepted++;
            var program = result.Program!;
            var jit = Filter.VM.Jit.Compile(program);
            foreach (var record in c.Item2.Concat(FixedRecords))
            {
                uint expected = Interpreter.Run(program, new FRecord(record));
                uint actual = jit.Run(new FRecord(record));
                Assert.True(expected == actual, $"interpreter {expected}, jit {actual}\n{Disassembler.Disassemble(program.Image)}");
                Assert.InRange(actual, 0u, MaxVerdict);
            }
        }));
        // The generator must mostly produce verifiable programs, or the property tests little.
        Assert.True(accepted * 10 >= tried * 9, $"only {accepted} of {tried} generated programs verified");
    }
}
