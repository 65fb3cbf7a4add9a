using Filter.Compiler;
using Filter.Tests.Engines;
using Filter.VM;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Filter.Tests.Properties;

/// <summary>Every engine agrees with the reference semantics on random well-typed filters and records.</summary>
public class EngineProperties
{
    private static int Iterations(int normal) =>
        int.TryParse(Environment.GetEnvironmentVariable("FILTER_PROPERTY_ITERATIONS"), out int n) ? n : normal;

    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(Iterations(400));

    private static readonly Arbitrary<(string Filter, byte[][] Records)> Cases =
        Gen.Zip(FilterGen.Filter(8), FilterGen.Record.ArrayOf(24)).ToArbitrary();

    [Fact]
    public void AllEnginesAgreeWithTheReference()
    {
        Check.One(Config, Prop.ForAll(Cases, c =>
        {
            var compilation = TestPrograms.Compile(c.Filter);
            var reference = FilterEngines.All[0].Prepare(compilation);
            foreach (var engine in FilterEngines.All.Skip(1))
            {
                var run = engine.Prepare(compilation);
                foreach (var record in c.Records)
                    Assert.True(reference(record) == run(record), $"{engine} disagrees with the reference on '{c.Filter}'");
            }
        }));
    }

    [Fact]
    public void EveryCompiledProgramVerifiesAndStaysWithinItsBound()
    {
        Check.One(Config, Prop.ForAll(FilterGen.Filter(8).ToArbitrary(), filter =>
        {
            var program = TestPrograms.CompileAndVerify(filter);
            Assert.InRange(program.MaxPathLength, 1, program.InstructionCount);
        }));
    }

    [Fact]
    public void DisassembleThenAssembleIsTheIdentity()
    {
        Check.One(Config, Prop.ForAll(FilterGen.Filter(8).ToArbitrary(), filter =>
        {
            var bytes = TestPrograms.Compile(filter).Image!.Encode();
            Assert.True(ProgramImage.TryDecode(bytes, out var image, out _));
            string text = Disassembler.Disassemble(image);
            var (again, error) = Assembler.Assemble(text);
            Assert.Null(error);
            Assert.Equal(bytes, again!.Encode());
            Assert.Equal(text, Disassembler.Disassemble(again));
        }));
    }
}
