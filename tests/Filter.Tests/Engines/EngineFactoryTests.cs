using Filter.Tests.Live;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Engines;

/// <summary>
/// One factory makes every engine, with one rule for an engine that cannot run here: the interpreter runs
/// instead, and the filter says which engine it is. Every engine gives the program's verdicts.
/// </summary>
public class EngineFactoryTests
{
    [Theory]
    [InlineData(EngineKind.Interpreter)]
    [InlineData(EngineKind.Jit)]
    [InlineData(EngineKind.Kernel)]
    public void EachEngineOrItsFallbackGivesTheProgramsVerdicts(EngineKind engine)
    {
        var program = TestPrograms.CompileAndVerify("always \"exec\": syscall == execve && exe startswith \"/usr/\"\nalways \"root\": uid == 0");
        var filter = RecordFilters.Create(program, engine);
        try
        {
            var expected = engine switch
            {
                EngineKind.Jit when !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported || !BitConverter.IsLittleEndian => EngineKind.Interpreter,
                EngineKind.Kernel when KernelRequirements.WhyNoBpf() is not null => EngineKind.Interpreter,
                _ => engine,
            };
            Assert.Equal(expected, filter.Engine);
            var reference = new InterpretedFilter(program);
            foreach (var record in TestData.ReadRecords(TestData.Conformance("records.jsonl")))
                Assert.Equal(reference.Run(new Record(record)), filter.Run(new Record(record)));
        }
        finally
        {
            (filter as IDisposable)?.Dispose();
        }
    }
}
