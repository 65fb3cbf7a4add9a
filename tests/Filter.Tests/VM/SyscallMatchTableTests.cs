using System.Buffers.Binary;
using Filter.Compiler.Analysis;
using Filter.Compiler.Tables;
using Filter.Tests.Engines;
using Filter.Tests.Jit;
using Filter.Tests.Properties;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using V = Filter.Verifier.Verifier;

namespace Filter.Tests.VM;

/// <summary>
/// <see cref="SyscallMatchTable"/>: exact where the program's verdict depends on the arch and syscall alone
/// and the syscall is tested by jumps, and never "no" for a syscall record some program run matches.
/// </summary>
public class SyscallMatchTableTests
{
    private static readonly uint[] Archs = AuditArch.All.Select(a => a.Value).ToArray();
    /// <summary>Arch values outside the table: none, and ARM's (0x40000028).</summary>
    private static readonly uint[] OtherArchs = [0, 0x40000028];

    private static SyscallMatchTable Table(string filter) => SyscallMatchTable.Of(TestPrograms.CompileAndVerify(filter));

    private static VerifiedProgram Assemble(string text)
    {
        var (image, error) = Assembler.Assemble(text);
        Assert.Null(error);
        return TestPrograms.Verify(image!);
    }

    private static int Number(uint arch, string name)
    {
        Assert.True(Syscalls.TryGetNumber(arch, name, out int number), $"{name} on {AuditArch.NameOf(arch)}");
        return number;
    }

    /// <summary>The numbers below the limit the table lets through for <paramref name="arch"/>.</summary>
    private static List<int> Numbers(SyscallMatchTable table, uint arch) =>
        Enumerable.Range(0, SyscallMatchTable.SyscallLimit).Where(n => table.MayMatch(arch, (uint)n)).ToList();

    private static byte[] SyscallRecord(uint arch, uint syscall, Action<RecordBuilder>? fill = null)
    {
        var b = new RecordBuilder();
        fill?.Invoke(b);
        b.SetU32(RecordLayout.Arch, arch);
        b.SetU32(RecordLayout.Syscall, syscall);
        return b.ToArray();
    }

    /// <summary>Makes a record a syscall record: type syscall, sig 0 (what the table's promise covers).</summary>
    private static byte[] AsSyscallRecord(byte[] record, uint arch, uint syscall)
    {
        var r = (byte[])record.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RecordLayout.Arch), arch);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RecordLayout.Syscall), syscall);
        r[RecordLayout.Type] = RecordLayout.EventTypeSyscall;
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(RecordLayout.Sig), 0);
        return r;
    }

    /// <summary>
    /// For a program whose verdict depends on nothing but the arch and syscall, the table below the limit is
    /// exactly what the interpreter says; above it and for other archs, it is at least that.
    /// </summary>
    private static void AssertExact(VerifiedProgram program)
    {
        var table = SyscallMatchTable.Of(program);
        foreach (uint arch in Archs)
        {
            for (uint n = 0; n < SyscallMatchTable.SyscallLimit; n++)
            {
                bool matches = Interpreter.Run(program, new Record(SyscallRecord(arch, n))) != 0;
                if (matches != table.MayMatch(arch, n)) Assert.Fail($"{AuditArch.NameOf(arch)} syscall {n}: interpreter {matches}, table {!matches}\n{Disassembler.Disassemble(program.Image)}");
            }
        }
        foreach (uint arch in Archs.Concat(OtherArchs))
            foreach (uint n in (uint[])[0, 59, SyscallMatchTable.SyscallLimit, 5000, 0x40000000, uint.MaxValue])
                if (Interpreter.Run(program, new Record(SyscallRecord(arch, n))) != 0)
                    Assert.True(table.MayMatch(arch, n), $"arch 0x{arch:x} syscall {n}");
    }

    [Fact]
    public void ASyscallSetIsExactlyItsNumbersOnEachArch()
    {
        var table = Table("syscall in (read, clock_gettime)");
        foreach (uint arch in Archs)
        {
            Assert.Equal(new[] { Number(arch, "read"), Number(arch, "clock_gettime") }.Order(), Numbers(table, arch));
            // Above the limit the syscall is unknown: numbers of the arch there may match.
            Assert.True(table.MayMatch(arch, SyscallMatchTable.SyscallLimit));
        }
        // An arch outside the table is analysed with the arch unknown.
        Assert.True(table.MayMatch(0, 0));
        Assert.False(table.MatchesNothing);
    }

    [Fact]
    public void AnArchAndOneSyscall()
    {
        var table = Table("arch == x86_64 && syscall == execve");
        Assert.Equal(new[] { 59 }, Numbers(table, AuditArch.X86_64));
        Assert.Empty(Numbers(table, AuditArch.I386));
        Assert.Empty(Numbers(table, AuditArch.Aarch64));
        Assert.True(table.MayMatch(AuditArch.X86_64, 5000));
        Assert.False(table.MayMatch(AuditArch.I386, 5000));
        Assert.False(table.MayMatch(AuditArch.Aarch64, uint.MaxValue));
    }

    [Theory]
    [InlineData("type == signal && sig == SIGSEGV")]
    [InlineData("type == signal")]
    [InlineData("sig != 0 && syscall == execve")]
    [InlineData("false")]
    public void NoSyscallRecordMatches(string filter)
    {
        var table = Table(filter);
        Assert.True(table.MatchesNothing);
        foreach (uint arch in Archs.Concat(OtherArchs))
            foreach (uint n in (uint[])[0, 1, 59, 1023, 1024, uint.MaxValue])
                Assert.False(table.MayMatch(arch, n));
    }

    [Theory]
    [InlineData("!success")]
    [InlineData("uid == 0")]
    [InlineData("true")]
    [InlineData("type == syscall")]
    [InlineData("syscall in (read, write) || exe startswith \"/tmp/\"")]
    [InlineData("syscall == uid")]
    public void EveryNumberMayMatch(string filter)
    {
        var table = Table(filter);
        foreach (uint arch in Archs)
        {
            Assert.Equal(SyscallMatchTable.SyscallLimit, Numbers(table, arch).Count);
            Assert.True(table.MayMatch(arch, uint.MaxValue));
        }
        Assert.True(table.MayMatch(0, 7));
    }

    [Fact]
    public void ANegatedSetIsItsComplement()
    {
        var table = Table("!(syscall in (read, write)) && uid == 0");
        foreach (uint arch in Archs)
        {
            var expected = Enumerable.Range(0, SyscallMatchTable.SyscallLimit).Except([Number(arch, "read"), Number(arch, "write")]);
            Assert.Equal(expected, Numbers(table, arch));
        }
    }

    [Fact]
    public void OtherFieldsDoNotNarrowTheNumbers()
    {
        // uid is unknown when a record opens: each listed syscall may match.
        var table = Table("syscall in (fork, vfork, clone, execve) && uid != 0 && exe startswith \"/usr/\"");
        foreach (uint arch in Archs)
            Assert.Equal(new[] { "fork", "vfork", "clone", "execve" }.Where(s => Syscalls.TryGetNumber(arch, s, out _)).Select(s => Number(arch, s)).Order(), Numbers(table, arch));
    }

    /// <summary>Filters on the arch and syscall alone: comparisons, ranges, arithmetic (wrapping), bit tests.</summary>
    [Theory]
    [InlineData("syscall > 300")]
    [InlineData("syscall >= 100 && syscall <= 200 || syscall == 1000")]
    [InlineData("syscall in (0..10, 100..200, 1020..5000)")]
    [InlineData("syscall not in (0..500)")]
    [InlineData("syscall - 1000 > 5")]
    [InlineData("(syscall & 0xff) == 3")]
    [InlineData("syscall & 0x10 != 0")]
    [InlineData("syscall << 60 == 0")]
    [InlineData("-syscall < 5")]
    [InlineData("syscall + 7 == 66")]
    [InlineData("syscall == read && syscall == write")]
    [InlineData("(syscall == 59) == (syscall > 50)")]
    [InlineData("arch == i386 && syscall > 400 || arch == aarch64 && syscall < 3")]
    [InlineData("syscall == 5000")]
    [InlineData("syscall in (execve, execveat, open, openat) && !(syscall in (open))")]
    public void SyscallOnlyFiltersAreExact(string filter)
    {
        AssertExact(TestPrograms.CompileAndVerify(filter));
    }

    [Fact]
    public void SyscallArithmeticAndRanges()
    {
        Assert.Equal(Enumerable.Range(301, SyscallMatchTable.SyscallLimit - 301), Numbers(Table("syscall > 300"), AuditArch.I386));
        Assert.Equal(new[] { 3, 259, 515, 771 }, Numbers(Table("(syscall & 0xff) == 3"), AuditArch.Aarch64));
        // n - 1000 wraps below 1000: only 1000..1005 fail.
        Assert.Equal(Enumerable.Range(0, SyscallMatchTable.SyscallLimit).Except(Enumerable.Range(1000, 6)), Numbers(Table("syscall - 1000 > 5"), AuditArch.X86_64));
        var large = Table("syscall == 5000");
        Assert.Empty(Numbers(large, AuditArch.X86_64));
        Assert.True(large.MayMatch(AuditArch.X86_64, 5000));
    }

    // Hand-written bytecode: shapes the compiler does not emit.

    [Fact]
    public void TheSyscallMovedToAnotherRegisterAndComparedUnsigned()
    {
        var program = Assemble("""
            .verdict 1 "k"
            ldw r0, [syscall]
            mov r5, r0
            mov r0, #1
            jgt r5, #400 jt 4 jf 5
            ret #1
            ret #0
            """);
        AssertExact(program);
        Assert.Equal(Enumerable.Range(401, SyscallMatchTable.SyscallLimit - 401), Numbers(SyscallMatchTable.Of(program), AuditArch.X86_64));
    }

    [Fact]
    public void BitTestsSignedComparesAndArithmetic()
    {
        // (n & 0x104) != 0, then (n - 100) >= 0 signed (n >= 100), then n << 62 == 0 (n % 4 == 0) or neg n signed > -8.
        var program = Assemble("""
            .verdict 1 "a"
            .verdict 2 "b"
            ldw r3, [syscall]
            jset r3, #0x104 jt 2 jf 10
            mov r4, r3
            sub r4, #100
            jsge r4, #0 jt 5 jf 10
            mov r6, r3
            lsh r6, #62
            jeq r6, #0 jt 11 jf 8
            neg r3
            jsgt r3, #-8 jt 12 jf 10
            ret #0
            ret #1
            ret #2
            """);
        AssertExact(program);
        var expected = Enumerable.Range(0, SyscallMatchTable.SyscallLimit).Where(n => (n & 0x104) != 0 && n >= 100 && n % 4 == 0);
        Assert.Equal(expected, Numbers(SyscallMatchTable.Of(program), AuditArch.I386));
    }

    [Fact]
    public void ComparingTwoSyscallFunctionsAndTheArch()
    {
        // n == (n & 7) holds for n < 8; the sum of arch and syscall singles out one number per arch.
        var program = Assemble($"""
            .verdict 1 "k"
            ldw r0, [syscall]
            mov r1, r0
            and r1, #7
            jeq r0, r1 jt 4 jf 8
            ldw r2, [arch]
            add r2, r0
            jeq r2, #{AuditArch.X86_64 + 5} jt 9 jf 7
            jeq r2, #{AuditArch.Aarch64 + 2} jt 9 jf 8
            ret #0
            ret #1
            """);
        AssertExact(program);
        Assert.Equal(new[] { 5 }, Numbers(SyscallMatchTable.Of(program), AuditArch.X86_64));
        Assert.Empty(Numbers(SyscallMatchTable.Of(program), AuditArch.I386));
        Assert.Equal(new[] { 2 }, Numbers(SyscallMatchTable.Of(program), AuditArch.Aarch64));
    }

    [Fact]
    public void TypeAndSigAreKnownInASyscallRecord()
    {
        var program = Assemble("""
            .verdict 1 "k"
            ldb r0, [type]
            ldw r1, [sig]
            add r0, r1
            jeq r0, #0 jt 4 jf 5
            ret #0
            ret #1
            """);
        Assert.True(SyscallMatchTable.Of(program).MatchesNothing);
    }

    [Fact]
    public void ASyscallDecisionCarriedInARegisterAcrossAJoin()
    {
        // r2 = (n == 7 || n == 9) ? 1 : 0, then tested: the join loses r2, so the analysis runs the numbers
        // that reached it through each side apart.
        var program = Assemble("""
            .verdict 1 "k"
            ldw r1, [syscall]
            jeq r1, #7 jt 5 jf 2
            jeq r1, #9 jt 5 jf 3
            mov r2, #0
            ja 6
            mov r2, #1
            jeq r2, #1 jt 8 jf 7
            ret #0
            ret #1
            """);
        AssertExact(program);
        Assert.Equal(new[] { 7, 9 }, Numbers(SyscallMatchTable.Of(program), AuditArch.X86_64));
    }

    [Fact]
    public void WhenTheWorkBudgetRunsOutTheRestMayMatch()
    {
        // 800 joins like the one above, each losing r2 = (n == 2k): telling the numbers apart takes a pass
        // per even number, more than the budget allows; what it cannot decide counts as matching.
        const int blocks = 800;
        var text = new System.Text.StringBuilder(".verdict 1 \"k\"\nldw r1, [syscall]\n");
        int ret1 = 1 + 5 * blocks + 1;
        for (int k = 0; k < blocks; k++)
        {
            int pc = 1 + 5 * k;
            text.Append($"jeq r1, #{2 * k} jt {pc + 1} jf {pc + 3}\nmov r2, #1\nja {pc + 4}\nmov r2, #0\njeq r2, #1 jt {ret1} jf {pc + 5}\n");
        }
        text.Append("ret #0\nret #1\n");
        var program = Assemble(text.ToString());
        var table = SyscallMatchTable.Of(program);
        int imprecise = 0;
        foreach (uint arch in Archs)
        {
            for (uint n = 0; n < SyscallMatchTable.SyscallLimit; n++)
            {
                bool matches = Interpreter.Run(program, new Record(SyscallRecord(arch, n))) != 0;
                Assert.Equal(n % 2 == 0, matches);
                if (matches) Assert.True(table.MayMatch(arch, n), $"syscall {n}");
                else if (table.MayMatch(arch, n)) imprecise++;
            }
        }
        // Else the budget was not reached and this test does not cover it: make the program larger.
        Assert.True(imprecise > 0);
    }

    [Fact]
    public void UnknownFieldsSendBothWaysAndStringsToo()
    {
        var program = Assemble("""
            .verdict 1 "k"
            .string 0 "/tmp/"
            ldw r0, [syscall]
            jeq r0, #3 jt 2 jf 5
            jstrpfx [exe], str0 jt 3 jf 5
            lddw r1, [a0]
            jeq r1, #0 jt 6 jf 5
            ret #0
            ret #1
            """);
        Assert.Equal([3], Numbers(SyscallMatchTable.Of(program), AuditArch.Aarch64));
        Assert.NotEqual(0u, Interpreter.Run(program, new Record(SyscallRecord(AuditArch.Aarch64, 3, b => b.SetExe("/tmp/x")))));
    }

    [Fact]
    public void AJinOnASignedSetOfSyscallValues()
    {
        // n - 10 in (-3..2) signed: n in 7..12.
        var program = Assemble("""
            .verdict 1 "k"
            .set 0 signed -3..2, 5000
            ldw r0, [syscall]
            sub r0, #10
            jin r0, set0 jt 3 jf 4
            ret #1
            ret #0
            """);
        AssertExact(program);
        Assert.Equal(new[] { 7, 8, 9, 10, 11, 12 }, Numbers(SyscallMatchTable.Of(program), AuditArch.X86_64));
    }

    [Theory]
    [MemberData(nameof(InstructionSetTests.AllOpcodes), MemberType = typeof(InstructionSetTests))]
    public void EveryOpcodeIsAnalysedSoundly(OpCode code)
    {
        var program = Assemble(InstructionSetTests.ProgramUsing(InstructionSet.Get(code)));
        var table = SyscallMatchTable.Of(program);
        foreach (var sample in FilterGenRecords.Sample)
            foreach (uint arch in Archs.Concat(OtherArchs))
                foreach (uint n in (uint[])[0, 1, 59, new Record(sample).Syscall])
                {
                    var record = AsSyscallRecord(sample, arch, n);
                    if (!table.MayMatch(arch, n)) Assert.Equal(0u, Interpreter.Run(program, new Record(record)));
                }
    }

    // Soundness on random programs: a "no" must never meet a matching syscall record.

    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    /// <summary>Syscall numbers worth trying on a program: its small immediates and their neighbours, the limit's, and extremes.</summary>
    private static IEnumerable<uint> Candidates(VerifiedProgram program, uint seed)
    {
        uint[] fixedOnes = [0, 1, 2, 59, 63, 64, 1022, 1023, 1024, 1025, 4095, 0x40000000, uint.MaxValue];
        var fromCode = program.Image.Code
            .Where(i => i.Imm < 2 * SyscallMatchTable.SyscallLimit)
            .SelectMany(i => (uint[])[(uint)i.Imm, (uint)i.Imm + 1, (uint)i.Imm - 1]);
        var fromSets = program.Image.Sets.SelectMany(s => s.Ranges)
            .SelectMany(r => (ulong[])[r.Lo, r.Hi, r.Lo - 1, r.Hi + 1]).Where(v => v < 2 * SyscallMatchTable.SyscallLimit).Select(v => (uint)v);
        return fixedOnes.Concat(fromCode).Concat(fromSets).Append(seed % 1100).Distinct();
    }

    /// <summary>
    /// Checks every (arch, candidate number) the table rules out against the records: each, made a syscall
    /// record with that arch and number, must get verdict 0. Returns how many such runs it made.
    /// </summary>
    private static int CheckSound(VerifiedProgram program, byte[][] records, IEnumerable<uint> numbers)
    {
        var table = SyscallMatchTable.Of(program);
        var ruledOut = Archs.Concat(OtherArchs)
            .SelectMany(arch => numbers.Select(n => (arch, n)))
            .Where(c => !table.MayMatch(c.arch, c.n)).ToList();
        foreach (var template in records)
        {
            var record = AsSyscallRecord(template, 0, 0);
            foreach (var (arch, n) in ruledOut)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Arch), arch);
                BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(RecordLayout.Syscall), n);
                uint verdict = Interpreter.Run(program, new Record(record));
                if (verdict != 0) Assert.Fail($"table rules out arch 0x{arch:x} syscall {n}, but the verdict is {verdict}\n{Disassembler.Disassemble(program.Image)}");
            }
        }
        return ruledOut.Count * records.Length;
    }

    [Fact]
    public void RandomFiltersNeverMatchWhereTheTableSaysNo()
    {
        int runs = 0, witnessesTried = 0;
        var cases = Gen.Zip(FilterGen.Filter(6), FilterGen.Record.ArrayOf(8)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(300)), Prop.ForAll(cases, c =>
        {
            var compilation = TestPrograms.Compile(c.Item1);
            var program = TestPrograms.Verify(compilation.Image!);
            runs += CheckSound(program, c.Item2, Candidates(program, new Record(c.Item2[0]).Syscall));
            // The compiler's own analysis builds a record the condition holds on, when one exists and its
            // reasoning reaches: for a number the table rules out, there must be none that is a syscall record.
            var table = SyscallMatchTable.Of(program);
            foreach (uint arch in Archs)
            {
                foreach (uint n in Candidates(program, 0).Where(n => !table.MayMatch(arch, n)).Take(3))
                {
                    witnessesTried++;
                    var witness = SyscallAnalysis.FindWitness(compilation.Bound!, arch, n);
                    if (witness is null || witness[RecordLayout.Type] != RecordLayout.EventTypeSyscall || new Record(witness).U32(RecordLayout.Sig) != 0) continue;
                    Assert.True(Interpreter.Run(program, new Record(witness)) == 0, $"'{c.Item1}': a witness matches {AuditArch.NameOf(arch)} syscall {n}, which the table rules out");
                }
            }
        }));
        // The property must have met "no" answers often, or it tested little.
        Assert.True(runs > 1000 && witnessesTried > 100, $"only {runs} runs and {witnessesTried} witness searches where the table said no");
    }

    /// <summary>
    /// Random verified bytecode (the JIT properties' generator: every ALU op, X-form comparisons, jin, strings,
    /// joins), with most loads turned into loads of the fields known at open so that they matter; the same
    /// programs read no field beyond those the table gives for each syscall (<see cref="CheckFieldsRead"/>).
    /// </summary>
    [Fact]
    public void RandomBytecodeNeverMatchesWhereTheTableSaysNo()
    {
        int runs = 0, accepted = 0, fieldRuns = 0;
        var cases = Gen.Zip(RetargetedPrograms(knownFieldsOnly: false), FilterGen.Record.ArrayOf(6)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(400)), Prop.ForAll(cases, c =>
        {
            var result = V.Verify(c.Item1);
            if (!result.Ok) return;
            accepted++;
            var numbers = Candidates(result.Program!, new Record(c.Item2[0]).Syscall).ToList();
            runs += CheckSound(result.Program!, c.Item2, numbers);
            fieldRuns += CheckFieldsRead(result.Program!, c.Item2, numbers);
        }));
        Assert.True(accepted > 300 && runs > 1000, $"only {accepted} programs verified, {runs} runs where the table said no");
        Assert.True(fieldRuns > 1000, $"only {fieldRuns} runs where the table said which fields");
    }

    /// <summary>
    /// Random bytecode that loads only the fields known at open (and tests strings): the verdict then hangs on
    /// the arch, the syscall and the strings alone, so every number below the limit is checked.
    /// </summary>
    [Fact]
    public void RandomBytecodeOnKnownFieldsNeverMatchesWhereTheTableSaysNo()
    {
        int runs = 0, accepted = 0;
        var numbers = Enumerable.Range(0, SyscallMatchTable.SyscallLimit + 2).Select(n => (uint)n).Concat([5000u, 0x80000000, uint.MaxValue]).ToArray();
        var cases = Gen.Zip(RetargetedPrograms(knownFieldsOnly: true), FilterGen.Record.ArrayOf(2)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(300)), Prop.ForAll(cases, c =>
        {
            var result = V.Verify(c.Item1);
            if (!result.Ok) return;
            accepted++;
            runs += CheckSound(result.Program!, c.Item2, numbers);
        }));
        Assert.True(accepted > 200 && runs > 100_000, $"only {accepted} programs verified, {runs} runs where the table said no");
    }

    /// <summary>
    /// For every (arch, candidate number) the table lets through, a syscall record with that arch and number
    /// and the same record with every field outside <see cref="SyscallMatchTable.FieldsRead"/> taken from
    /// another record get the same verdict. Returns how many pairs it ran.
    /// </summary>
    private static int CheckFieldsRead(VerifiedProgram program, byte[][] records, IEnumerable<uint> numbers)
    {
        var table = SyscallMatchTable.Of(program);
        Assert.Equal(table.MatchesNothing ? [] : program.FieldsRead.Order(StringComparer.Ordinal), table.Fields);
        int runs = 0;
        var mixed = new RecordBuilder();
        foreach (uint arch in Archs.Concat(OtherArchs))
            foreach (uint n in numbers.Where(n => table.MayMatch(arch, n)))
            {
                ulong read = table.FieldsRead(arch, n);
                for (int r = 0; r < records.Length; r++)
                {
                    var record = AsSyscallRecord(records[r], arch, n);
                    mixed.CopyFrom(new Record(AsSyscallRecord(records[(r + 1) % records.Length], arch, n)));
                    for (int f = 0; f < table.Fields.Count; f++)
                    {
                        if ((read >> f & 1) == 0) continue;
                        if (RecordLayout.ScalarNamed(table.Fields[f]) is { } scalar) mixed.SetScalar(scalar, new Record(record).Load(scalar));
                        else mixed.SetString(RecordLayout.StringNamed(table.Fields[f])!, new Record(record).GetString(RecordLayout.StringNamed(table.Fields[f])!));
                    }
                    uint expected = Interpreter.Run(program, new Record(record)), got = Interpreter.Run(program, new Record(mixed.Build()));
                    if (expected != got)
                        Assert.Fail($"arch 0x{arch:x} syscall {n}: fields read {read:x} ({string.Join(", ", table.Fields)}); verdict {expected}, with the others changed {got}\n{Disassembler.Disassemble(program.Image)}");
                    runs++;
                }
            }
        return runs;
    }

    [Fact]
    public void FieldsOutsideThoseReadForASyscallDoNotChangeItsVerdict()
    {
        int runs = 0, narrowed = 0;
        // Random filters, and random filters per syscall (what policies are made of).
        var filters = Gen.Frequency((1, FilterGen.Filter(6)), (2,
            from a in FilterGen.Filter(3) from b in FilterGen.Filter(3) from rest in FilterGen.Filter(2)
            select $"(syscall == read && ({a})) || (syscall in (openat, execve) && ({b})) || (syscall < 3 && ({rest}))"));
        var cases = Gen.Zip(filters, FilterGen.Record.ArrayOf(6)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(300)), Prop.ForAll(cases, c =>
        {
            var program = TestPrograms.CompileAndVerify(c.Item1);
            var numbers = Candidates(program, new Record(c.Item2[0]).Syscall).ToList();
            runs += CheckFieldsRead(program, c.Item2, numbers);
            var table = SyscallMatchTable.Of(program);
            if (numbers.Any(n => table.MayMatch(AuditArch.X86_64, n) && table.FieldsRead(AuditArch.X86_64, n) != (1UL << table.Fields.Count) - 1)) narrowed++;
        }));
        // Many filters read fields on some syscalls only, or the property tested little.
        Assert.True(runs > 1000 && narrowed > 100, $"only {runs} runs, {narrowed} filters reading fewer fields for some syscall");
    }

    [Fact]
    public void APolicyReadsForEachSyscallWhatItsRulesRead()
    {
        var table = Table("""
            always "exec": syscall == execve && euid == 0 && exe == "/usr/bin/su"
            always "open": syscall == openat && (a2 & 3) != 0 && auid >= 1000 && path0 startswith "/etc/"
            always "any": syscall < 2048 && perm == w && uid == 7
            """);
        string[] Read(string name)
        {
            ulong read = table.FieldsRead(AuditArch.X86_64, (uint)Number(AuditArch.X86_64, name));
            return [.. table.Fields.Where((_, i) => (read >> i & 1) != 0)];
        }
        Assert.Equal(["arch", "euid", "exe", "syscall"], Read("execve"));
        Assert.Equal(["a2", "arch", "auid", "path0", "syscall", "uid"], Read("openat"));
        Assert.Equal(["arch", "syscall", "uid"], Read("unlink"));
    }

    [Fact]
    public void AProgramReadingMoreFieldsThanAMaskHoldsReadsThemAllForEverySyscall()
    {
        // Every field of the record, each compared with a value of its kind, on one syscall.
        var tests = RecordLayout.Scalars.Where(f => f.Name is not ("type" or "sig")).Select(f => f.IsBoolean ? f.Name : $"{f.Name} == 1")
            .Concat(RecordLayout.Strings.Select(f => $"{f.Name} == \"x\""));
        var program = TestPrograms.CompileAndVerify($"type == syscall && syscall == openat && ({string.Join(" || ", tests)})");
        var table = SyscallMatchTable.Of(program);
        Assert.True(table.Fields.Count > 64, $"{table.Fields.Count} fields");
        Assert.Equal(ulong.MaxValue, table.FieldsRead(AuditArch.X86_64, (uint)Number(AuditArch.X86_64, "openat")));
    }

    [Fact]
    public void FieldsAfterAMatchEveryNumberReachesAreRead()
    {
        // Every number reaches `ret #1` (pc 2) before the euid test after it in pc order: the pass that
        // stops there has not seen that load, which must still count.
        var program = Assemble("""
            .verdict 1 "k"
            ldw r0, [uid]
            jeq r0, #0 jt 2 jf 3
            ret #1
            ldw r0, [euid]
            jeq r0, #0 jt 5 jf 6
            ret #1
            ret #0
            """);
        var table = SyscallMatchTable.Of(program);
        Assert.Equal(["euid", "uid"], table.Fields);
        Assert.Equal(3UL, table.FieldsRead(AuditArch.X86_64, 59));
    }

    private static Gen<ProgramImage> RetargetedPrograms(bool knownFieldsOnly) =>
        JitProperties.Programs.SelectMany(image =>
            Gen.Choose(0, knownFieldsOnly ? 3 : 5).ArrayOf(image.Code.Count).Select(choice => RetargetLoads(image, choice)));

    /// <summary>
    /// Loads with choice 0 read the syscall, 1 the arch, 2 the type, 3 sig; others stay. Returns with choice
    /// 0 or 1 return 0, so that a program matches on few paths and the table has more to rule out.
    /// </summary>
    private static ProgramImage RetargetLoads(ProgramImage image, int[] choice)
    {
        var code = image.Code.Select((insn, pc) => insn.Op switch
        {
            OpCode.Ldb or OpCode.Ldw or OpCode.Lddw => choice[pc] switch
            {
                0 => insn with { Op = OpCode.Ldw, Imm = RecordLayout.Syscall },
                1 => insn with { Op = OpCode.Ldw, Imm = RecordLayout.Arch },
                2 => insn with { Op = OpCode.Ldb, Imm = RecordLayout.Type },
                3 => insn with { Op = OpCode.Ldw, Imm = RecordLayout.Sig },
                _ => insn,
            },
            OpCode.Ret when choice[pc] < 2 => insn with { Imm = 0 },
            _ => insn,
        }).ToList();
        return new ProgramImage(code, image.Sets, image.Strings.Select(s => s.ToArray()), image.Keys);
    }

    private static readonly OpCode[] Alu =
        [OpCode.AddK, OpCode.SubK, OpCode.AndK, OpCode.OrK, OpCode.XorK, OpCode.LshK, OpCode.RshK, OpCode.ArshK,
         OpCode.AddX, OpCode.SubX, OpCode.AndX, OpCode.OrX, OpCode.XorX, OpCode.LshX, OpCode.RshX, OpCode.ArshX, OpCode.Neg, OpCode.Not, OpCode.MovX];
    private static readonly OpCode[] Jumps =
        [OpCode.JeqK, OpCode.JgtK, OpCode.JgeK, OpCode.JsgtK, OpCode.JsgeK, OpCode.JsetK, OpCode.Jin, OpCode.Jswitch,
         OpCode.JeqX, OpCode.JgtX, OpCode.JgeX, OpCode.JsgtX, OpCode.JsgeX, OpCode.JsetX];

    /// <summary>Immediates that matter for syscall arithmetic: numbers, their negatives, shift counts, the archs.</summary>
    private static Gen<ulong> SyscallImm => Gen.Frequency(
        (4, Gen.Choose(0, 1100).Select(i => (ulong)i)),
        (2, Gen.Choose(-1100, -1).Select(i => (ulong)(long)i)),
        (2, Gen.Choose(0, 70).Select(i => (ulong)i)),
        (1, Gen.Elements(Archs).Select(a => (ulong)a)),
        (1, FilterGen.Value));

    /// <summary>
    /// r0 = the syscall, r1 = the arch or a constant, perhaps then r1 = one of two constants as a comparison of
    /// r0 goes (a join where r1 is lost unless the numbers are run apart), a chain of ALU operations on both,
    /// then comparisons each returning 1 when it holds; 0 when none does.
    /// </summary>
    private static Gen<ProgramImage> SyscallArithmetic =>
        from r1 in Gen.Frequency((1, Gen.Constant(new Instruction(OpCode.Ldw, 1, 0, 0, 0, RecordLayout.Arch))),
                                 (1, SyscallImm.Select(k => new Instruction(OpCode.MovK, 1, 0, 0, 0, k))))
        from diamond in Gen.Frequency((1, Gen.Constant(Array.Empty<Instruction>())), (1,
            from op in Gen.Elements(OpCode.JeqK, OpCode.JgtK, OpCode.JsetK) from k in SyscallImm
            from c1 in SyscallImm from c2 in SyscallImm
            select new Instruction[]
            {
                new(op, 0, 0, 0, 2, k),
                new(OpCode.MovK, 1, 0, 0, 0, c1),
                new(OpCode.Ja, 0, 0, 1, 0, 0),
                new(OpCode.MovK, 1, 0, 0, 0, c2),
            }))
        from alu in Gen.Choose(1, 6).SelectMany(n =>
            (from op in Gen.Elements(Alu) from a in Gen.Choose(0, 1) from k in SyscallImm
             select new Instruction(op, (byte)a, (byte)(1 - a), 0, 0, InstructionSet.Get(op).Imm == Operand.Imm ? k : 0)).ArrayOf(n))
        from tests in Gen.Choose(1, 3).SelectMany(n =>
            (from op in Gen.Elements(Jumps) from a in Gen.Choose(0, 1) from k in SyscallImm
             select (op, a, k)).ArrayOf(n))
        select SyscallProgram([r1, .. diamond], alu, tests);

    private static readonly ValueSet[] ArithmeticSets =
        [new(false, [new(3, 9), new(59, 59), new(300, 1030)]), new(true, [new(unchecked((ulong)-900L), unchecked((ulong)-5L)), new(0, 2)])];

    private static ProgramImage SyscallProgram(Instruction[] start, Instruction[] alu, (OpCode Op, int A, ulong K)[] tests)
    {
        var code = new List<Instruction> { new(OpCode.Ldw, 0, 0, 0, 0, RecordLayout.Syscall) };
        code.AddRange(start);
        // Unary and K forms use no B slot; X forms read the other register.
        code.AddRange(alu.Select(i => InstructionSet.Get(i.Op).B == Operand.RegRead ? i : i with { B = 0 }));
        int ret0 = code.Count + tests.Length;
        for (int t = 0; t < tests.Length; t++)
        {
            var (op, a, k) = tests[t];
            int pc = code.Count;
            var info = InstructionSet.Get(op);
            ulong imm = op == OpCode.Jin ? k % (ulong)ArithmeticSets.Length : info.Imm == Operand.Imm ? k : 0;
            byte b = info.B == Operand.RegRead ? (byte)(1 - a) : (byte)0;
            // A jswitch over the two-range set: its first case returns 0, its second 1, others go on.
            if (op == OpCode.Jswitch) code.Add(new Instruction(op, (byte)a, 0, (ushort)(ret0 - pc - 1), 0, 1));
            else code.Add(new Instruction(op, (byte)a, b, (ushort)(ret0 + 1 - pc - 1), 0, imm));
        }
        code.Add(new Instruction(OpCode.Ret, 0, 0, 0, 0, 0));
        code.Add(new Instruction(OpCode.Ret, 0, 0, 0, 0, 1));
        return new ProgramImage(code, ArithmeticSets, [], ["k"]);
    }

    /// <summary>
    /// Straight-line arithmetic on the syscall and arch, then comparisons: nothing is unknown and no value
    /// is lost at a join, so the table is exact below the limit, and the engines' semantics of every ALU
    /// operation and comparison are checked number by number.
    /// </summary>
    [Fact]
    public void RandomSyscallArithmeticIsExact()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Iterations(300)), Prop.ForAll(SyscallArithmetic.ToArbitrary(), image =>
            AssertExact(TestPrograms.Verify(image))));
    }

    // Union, None, and the cached property.

    [Fact]
    public void UnionIsTheOrOfItsTables()
    {
        var a = Table("syscall == execve && arch == x86_64");
        var b = Table("syscall in (read, write) && uid == 0");
        var c = Table("type == signal");
        var union = SyscallMatchTable.Union([a, b, c]);
        foreach (uint arch in Archs.Concat(OtherArchs))
            foreach (uint n in (uint[])[0, 1, 3, 4, 59, 63, 64, 221, 1023, 1024, 5000, uint.MaxValue])
                Assert.Equal(a.MayMatch(arch, n) || b.MayMatch(arch, n) || c.MayMatch(arch, n), union.MayMatch(arch, n));
        Assert.Equal(new[] { 0, 1, 59 }, Numbers(union, AuditArch.X86_64));
        Assert.False(union.MatchesNothing);
        Assert.True(SyscallMatchTable.Union([c, SyscallMatchTable.None]).MatchesNothing);
    }

    [Fact]
    public void NoneAndTheEmptyUnionMatchNothing()
    {
        foreach (var table in new[] { SyscallMatchTable.None, SyscallMatchTable.Union([]) })
        {
            Assert.True(table.MatchesNothing);
            foreach (uint arch in Archs.Concat(OtherArchs))
                foreach (uint n in (uint[])[0, 59, 1023, 1024, uint.MaxValue])
                    Assert.False(table.MayMatch(arch, n));
        }
        Assert.False(SyscallMatchTable.Union([Table("true")]).MatchesNothing);
    }

    [Fact]
    public void TheProgramComputesItsTableOnceForAllThreads()
    {
        var program = TestPrograms.CompileAndVerify("syscall in (read, write) && uid == 0");
        var seen = new SyscallMatchTable[8];
        Parallel.For(0, seen.Length, i => seen[i] = SyscallMatchTable.Of(program));
        Assert.All(seen, t => Assert.Same(seen[0], t));
        Assert.Same(seen[0], SyscallMatchTable.Of(program));
    }
}
