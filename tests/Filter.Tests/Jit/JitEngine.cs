using Filter.Compiler;
using Filter.VM;

namespace Filter.Tests.Engines;

/// <summary>The JIT as a test engine: add <c>new JitEngine()</c> to <see cref="FilterEngines.All"/>.</summary>
public sealed class JitEngine : FilterEngine
{
    public override string Name => "jit";

    public override Func<byte[], bool> Prepare(Compilation compilation)
    {
        var filter = Filter.VM.Jit.Compile(TestPrograms.Verify(compilation.Image!));
        return bytes => filter.Run(new Filter.Bytecode.Record(bytes)) != 0;
    }
}
