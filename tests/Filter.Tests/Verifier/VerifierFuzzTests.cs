using Filter.Tests.Properties;
using Filter.VM;
using FsCheck.Fluent;
using Xunit;
using Xunit.Abstractions;
using Filter.Verifier;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.Verifier;

/// <summary>
/// The verifier as a security boundary: random and mutated bytecode is either rejected with a rule and
/// an instruction index, or runs on random records in the interpreter and the JIT without an exception
/// and with identical verdicts. Seeded and deterministic; <c>FILTER_FUZZ_ITERATIONS</c> raises the count
/// (the default keeps the normal test run at 100,000 programs), <c>FILTER_FUZZ_SEED</c> picks another run.
/// </summary>
public class VerifierFuzzTests(ITestOutputHelper output)
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_FUZZ_ITERATIONS"), out int n) ? n : normal;

    private static int Seed(int salt) =>
        (int.TryParse(Environment.GetEnvironmentVariable("FILTER_FUZZ_SEED"), out int s) ? s : 20261126) ^ salt;

    private static readonly IReadOnlyList<byte[]> Records = Gen.Sample(FilterGen.Record, 20, 16).ToList();

    private static readonly ulong[] Interesting = [0, 1, 2, 8, 63, 64, 65, 112, 120, 124, 127, 128, 4095, 0xffffffff, 0x8000000000000000, ulong.MaxValue];

    private sealed class Tally
    {
        public int Accepted, Rejected;
        public readonly int[] ByRule = new int[3000];
    }

    /// <summary>Verifies the bytes; if accepted, both engines must agree on every record without throwing.</summary>
    private static void Check(byte[] bytes, Tally tally)
    {
        var result = V.Verify(bytes);
        if (!result.Ok)
        {
            Assert.NotNull(result.Error);
            Assert.False(string.IsNullOrEmpty(result.Error!.Message));
            tally.Rejected++;
            tally.ByRule[(int)result.Error!.Code]++;
            return;
        }
        tally.Accepted++;
        var program = result.Program!;
        var jit = Filter.VM.Jit.Compile(program);
        foreach (var record in Records)
        {
            uint interpreted = Interpreter.Run(program, new Record(record));
            Assert.Equal(interpreted, jit.Run(new Record(record)));
            Assert.InRange(interpreted, 0u, (uint)program.Image.VerdictCount);
        }
    }

    /// <summary>
    /// Programs of 1 to 12 instructions over the whole instruction table. Operands usually fit their slot
    /// (so that a fair share passes and runs) and sometimes are anything at all (so every rule is hit):
    /// registers, field offsets, constant indices, verdicts, jump offsets and unused slots alike; rarely the
    /// program is empty, a set is not canonical, a string or key is too long.
    /// </summary>
    private static byte[] RandomProgram(Random rng)
    {
        bool wild() => rng.Next(20) == 0;
        bool rare() => rng.Next(500) == 0;
        int n = rare() ? 0 : rng.Next(1, 13);
        var sets = new List<ValueSet>();
        for (int s = rng.Next(3); s > 0; s--)
        {
            ulong lo = (ulong)rng.Next(500);
            ulong second = rare() ? lo : lo + 10;   // overlapping the first range: not a canonical set
            sets.Add(new ValueSet(rng.Next(2) == 0, [new ValueRange(lo, lo + (ulong)rng.Next(3)), new ValueRange(second, second)]));
        }
        var strings = Enumerable.Range(0, rng.Next(3)).Select(_ => rare() ? new byte[ProgramLimits.MaxStringLength + 1] : "/tmp/"u8.ToArray()).ToList();
        // Now and then a key too long, or with a character a key may not hold (a control character: FLT2016).
        var keys = Enumerable.Range(0, rng.Next(4)).Select(i => rare() ? new string('k', ProgramLimits.MaxKeyLength + 1) : rare() ? $"k{(char)rng.Next(0xa0)}" : $"k{i}").ToList();
        ulong slot(Operand kind) => kind switch
        {
            _ when wild() => (ulong)rng.Next(256),
            Operand.None => 0,
            Operand.RegRead or Operand.RegWrite or Operand.RegReadWrite => (ulong)rng.Next(3),
            Operand.StringField => (ulong)RecordLayout.Strings[rng.Next(RecordLayout.Strings.Count)].DescriptorOffset,
            _ => 0,
        };
        ulong immediate(OpInfo info) => info.Imm switch
        {
            _ when wild() => rng.Next(2) == 0 ? Interesting[rng.Next(Interesting.Length)] : (ulong)rng.NextInt64(),
            Operand.None => 0,
            Operand.Field => (ulong)RecordLayout.Scalars.Where(f => f.Size == info.LoadSize).ElementAt(rng.Next(RecordLayout.Scalars.Count(f => f.Size == info.LoadSize))).Offset,
            Operand.Set => (ulong)rng.Next(Math.Max(1, sets.Count)),
            Operand.String => (ulong)rng.Next(Math.Max(1, strings.Count)),
            Operand.Verdict => (ulong)rng.Next(keys.Count + 1),
            _ => Interesting[rng.Next(Interesting.Length)],
        };
        var code = new List<Instruction>();
        for (int pc = 0; pc < n; pc++)
        {
            // Loads first, so that later reads are usually of written registers.
            var info = pc < 2 && rng.Next(4) != 0 ? InstructionSet.Get(OpCode.Lddw)
                : pc == n - 1 && rng.Next(4) != 0 ? InstructionSet.Get(OpCode.Ret)
                : InstructionSet.All[rng.Next(InstructionSet.All.Count)];
            byte op = rng.Next(40) == 0 ? (byte)rng.Next(256) : (byte)info.Code;
            byte a = (byte)(pc < 2 && info.Code == OpCode.Lddw ? (ulong)pc : slot(info.A));
            int room = Math.Max(1, n - pc - 1);
            ushort jt = (ushort)(wild() ? rng.Next(65536) : info.Jump is JumpKind.Always or JumpKind.Conditional or JumpKind.Switch ? rng.Next(room) : 0);
            ushort jf = (ushort)(wild() ? rng.Next(65536) : info.Jump is JumpKind.Conditional or JumpKind.Switch ? rng.Next(room) : 0);
            byte reserved = rng.Next(100) == 0 ? (byte)rng.Next(1, 256) : (byte)0;
            code.Add(new Instruction((OpCode)op, a, (byte)slot(info.B), jt, jf, immediate(info), reserved));
        }
        return new ProgramImage(code, sets, strings, keys).Encode();
    }

    /// <summary>A compiled program damaged one way: bit flip, byte overwrite, swapped instructions, truncation, extension.</summary>
    private static byte[] Mutate(byte[] bytes, Random rng)
    {
        var m = (byte[])bytes.Clone();
        int codeStart = ProgramImage.HeaderSize;
        int instructions = BitConverter.ToInt32(bytes, 8);
        switch (rng.Next(6))
        {
            case 0: // flip a bit anywhere
                int bit = rng.Next(m.Length * 8);
                m[bit / 8] ^= (byte)(1 << (bit % 8));
                return m;
            case 1: // overwrite a byte of an instruction
                m[codeStart + rng.Next(instructions * InstructionSet.InstructionSize)] = (byte)rng.Next(256);
                return m;
            case 2: // swap two instructions
                int i = rng.Next(instructions), j = rng.Next(instructions);
                var tmp = m.AsSpan(codeStart + i * 16, 16).ToArray();
                m.AsSpan(codeStart + j * 16, 16).CopyTo(m.AsSpan(codeStart + i * 16, 16));
                tmp.CopyTo(m.AsSpan(codeStart + j * 16, 16));
                return m;
            case 3: // truncate
                return m[..rng.Next(m.Length)];
            case 4: // extend with garbage
                var extra = new byte[rng.Next(1, 40)];
                rng.NextBytes(extra);
                return [.. m, .. extra];
            default: // change the instruction count in the header
                BitConverter.TryWriteBytes(m.AsSpan(8), instructions + rng.Next(-2, 3));
                return m;
        }
    }

    [Fact]
    public void RandomProgramsAreRejectedWithARuleOrRunIdenticallyInBothEngines()
    {
        var rng = new Random(Seed(1));
        var tally = new Tally();
        int n = Iterations(70_000);
        for (int i = 0; i < n; i++) Check(RandomProgram(rng), tally);
        Report("random", tally);
        Assert.True(tally.Accepted > n / 100, "too few random programs pass the verifier for the property to mean much");
        // Every rule but the container's format (ProgramImage writes a well-formed container; the arbitrary bytes
        // below break that one), so a rule that stopped rejecting, or a new one, cannot go untested.
        AssertEveryRuleHit(tally, VerifierRules.Where(r => r != DiagnosticCode.Format));
    }

    /// <summary>The verifier's rules: the FLT2xxx codes.</summary>
    private static IEnumerable<DiagnosticCode> VerifierRules => Enum.GetValues<DiagnosticCode>().Where(c => (int)c is >= 2000 and < 3000);

    private static void AssertEveryRuleHit(Tally tally, IEnumerable<DiagnosticCode> rules)
    {
        var missed = rules.Where(r => tally.ByRule[(int)r] == 0).ToList();
        Assert.True(missed.Count == 0, $"no program was rejected by {string.Join(", ", missed)}");
    }

    [Fact]
    public void MutatedCompiledProgramsAreRejectedWithARuleOrRunIdenticallyInBothEngines()
    {
        var rng = new Random(Seed(2));
        var filters = Gen.Sample(FilterGen.Filter(4), 10, 200)
            .Select(f => Filter.Compiler.FilterCompiler.Compile(f).Image!.Encode()).ToList();
        var tally = new Tally();
        int n = Iterations(30_000);
        for (int i = 0; i < n; i++) Check(Mutate(filters[i % filters.Count], rng), tally);
        Report("mutated", tally);
        Assert.True(tally.Accepted > 0 && tally.Rejected > 0);
    }

    [Fact]
    public void ArbitraryBytesNeverThrow()
    {
        var rng = new Random(Seed(3));
        var tally = new Tally();
        for (int i = 0; i < Iterations(5_000); i++)
        {
            var bytes = new byte[rng.Next(0, 200)];
            rng.NextBytes(bytes);
            if (bytes.Length >= 6 && rng.Next(2) == 0) { "AFLT"u8.CopyTo(bytes); bytes[4] = 1; bytes[5] = 0; }
            Check(bytes, tally);
        }
        Report("bytes", tally);
        AssertEveryRuleHit(tally, [DiagnosticCode.Format]);
    }

    private void Report(string name, Tally tally)
    {
        var rules = VerifierRules.Where(r => tally.ByRule[(int)r] > 0).Select(r => $"{r}={tally.ByRule[(int)r]}");
        output.WriteLine($"{name}: {tally.Accepted} accepted, {tally.Rejected} rejected ({string.Join(", ", rules)})");
    }
}
