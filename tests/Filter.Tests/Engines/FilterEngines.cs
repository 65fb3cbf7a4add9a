using Filter.Compiler;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Engines;

/// <summary>
/// One way to run a compiled filter. Every data-driven test takes an engine as its first parameter and
/// runs once per engine in <see cref="All"/> (the pattern of .NET's regex tests): no per-engine copies.
/// </summary>
public abstract class FilterEngine
{
    public abstract string Name { get; }

    /// <summary>Prepares the filter; the returned function gives the verdict for a record's bytes.</summary>
    public abstract Func<byte[], bool> Prepare(Compilation compilation);

    public override string ToString() => Name;
}

public sealed class ReferenceEngine : FilterEngine
{
    public override string Name => "reference";
    public override Func<byte[], bool> Prepare(Compilation c) => bytes => ReferenceEvaluator.Evaluate(c.Bound!, new Record(bytes));
}

public sealed class InterpreterEngine : FilterEngine
{
    public override string Name => "interpreter";
    public override Func<byte[], bool> Prepare(Compilation c)
    {
        var program = TestPrograms.Verify(c.Image!);
        return bytes => Interpreter.Run(program, new Record(bytes)) != 0;
    }
}

public static class FilterEngines
{
    public static readonly IReadOnlyList<FilterEngine> All = [new ReferenceEngine(), new InterpreterEngine(), new JitEngine()];

    /// <summary>Each engine alone, as theory data.</summary>
    public static TheoryData<FilterEngine> Each()
    {
        var data = new TheoryData<FilterEngine>();
        foreach (var e in All) data.Add(e);
        return data;
    }

    /// <summary>Prepends every engine to every row of <paramref name="rows"/>.</summary>
    public static IEnumerable<object[]> Cross(IEnumerable<object[]> rows) =>
        from row in rows.ToList() from engine in All select row.Prepend(engine).ToArray();
}

public static class TestPrograms
{
    public static Compilation Compile(string filter)
    {
        var c = FilterCompiler.Compile(filter);
        Assert.True(c.Success, $"'{filter}' failed to compile:\n{c.RenderDiagnostics()}");
        return c;
    }

    public static VerifiedProgram Verify(ProgramImage image)
    {
        var result = Filter.Verifier.Verifier.Verify(image);
        Assert.True(result.Ok, $"verifier rejected a compiled program: {result.Error}\n{Disassembler.Disassemble(image)}");
        return result.Program!;
    }

    public static VerifiedProgram CompileAndVerify(string filter) => Verify(Compile(filter).Image!);
}
