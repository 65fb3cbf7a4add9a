using System.Text;
using Filter.Audit.Formats;
using Filter.Compiler;
using Filter.Tests.Engines;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Policy;

/// <summary>
/// Verdicts (not just match / no match) from each engine of <see cref="FilterEngines.All"/>: the
/// reference evaluator runs the bound policy, the others the verified program.
/// </summary>
public static class PolicyEngines
{
    public static Func<byte[], uint> Verdicts(FilterEngine engine, Compilation c) => engine switch
    {
        ReferenceEngine => bytes => (uint)ReferenceEvaluator.Evaluate(c.Policy!, new Record(bytes)),
        InterpreterEngine => Interpreted(TestPrograms.Verify(c.Image!)),
        JitEngine => Jitted(TestPrograms.Verify(c.Image!)),
        _ => throw new InvalidOperationException($"no verdicts for engine {engine}: add it here"),
    };

    private static Func<byte[], uint> Interpreted(VerifiedProgram program) => bytes => Interpreter.Run(program, new Record(bytes));

    private static Func<byte[], uint> Jitted(VerifiedProgram program)
    {
        var jit = Filter.VM.Jit.Compile(program);
        return bytes => jit.Run(new Record(bytes));
    }

    /// <summary>One record from its JSON line.</summary>
    public static byte[] Record(string json)
    {
        using var reader = new JsonLinesReader(new MemoryStream(Encoding.UTF8.GetBytes(json + "\n")), "vector");
        var builder = new RecordBuilder();
        Assert.True(reader.Read(builder) == ReadResult.Record, reader.Error?.Render());
        return builder.ToArray();
    }
}
