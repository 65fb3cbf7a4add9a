using Filter.Compiler;
using Filter.Compiler.Analysis;
using Filter.VM;
using V = Filter.Verifier;

namespace Filter.Audit.Ids;

/// <summary>
/// The IDS's pre-filter: a filter of our language, compiled and verified like any other, that runs before
/// commit and passes only the records the state machine can use (spec/ids.md, "What the pre-filter passes"):
/// SIGSEGV records, and the syscall records of the calls <see cref="IdsSyscalls"/> lists (receives, process
/// creation, execve, exits, the calls that make, copy or close fds) — plus, with a scope, every syscall
/// record of the processes the scope selects.
/// </summary>
public static class IdsPreFilter
{
    /// <summary>The syscalls the pre-filter always passes (names; each arch passes those it has).</summary>
    public static IEnumerable<string> SyscallNames => IdsSyscalls.AllNames;

    /// <summary>
    /// Per arch, the syscall numbers the pre-filter passes without a scope: what kernel exit rules must record
    /// for the IDS (<c>filterc ids --install</c>). SIGSEGV records need no rule: the kernel logs ANOM_ABEND
    /// whenever auditing is on.
    /// </summary>
    public static SyscallSets KernelSyscalls()
    {
        var compilation = FilterCompiler.Compile($"syscall in ({SyscallList})");
        if (!compilation.Success) throw new InvalidOperationException(compilation.RenderDiagnostics("ids syscalls"));
        return SyscallAnalysis.For(compilation.Bound!);
    }

    // Spelled __NR_name: beside syscall a bare `exit` would be the exit field (spec/language.md).
    private static string SyscallList => string.Join(", ", IdsSyscalls.AllNames.Select(n => "__NR_" + n));

    /// <summary>The pre-filter's text for <paramref name="scope"/> (null: no scope).</summary>
    public static string Source(string? scope)
    {
        string calls = $"syscall in ({SyscallList})";
        string syscalls = scope is null ? calls : $"{calls} || ({scope})";
        return $"(type == signal && sig == SIGSEGV) || (type == syscall && ({syscalls}))";
    }

    /// <summary>
    /// Compiles and verifies the pre-filter. Null, with <paramref name="error"/> set (positioned diagnostics
    /// of the whole text), when the scope does not compile.
    /// </summary>
    public static VerifiedProgram? Compile(string? scope, out string? error) => CompileWithSource(scope, out error).Program;

    /// <summary>As <see cref="Compile"/>, with the compilation (its bound tree: which syscalls can match, for kernel rules).</summary>
    public static (Compilation? Compilation, VerifiedProgram? Program) CompileWithSource(string? scope, out string? error)
    {
        if (scope is not null)
        {
            // Alone first, so that a mistake in the scope is shown in the scope's own text.
            var alone = FilterCompiler.Compile(scope);
            if (!alone.Success)
            {
                error = alone.RenderDiagnostics("scope");
                return (alone, null);
            }
        }
        var text = Source(scope);
        var compilation = FilterCompiler.Compile(text);
        if (!compilation.Success)
        {
            error = compilation.RenderDiagnostics("ids pre-filter");
            return (compilation, null);
        }
        var verified = V.Verifier.Verify(compilation.Image!);
        if (!verified.Ok) throw new InvalidOperationException($"the compiled IDS pre-filter was rejected by the verifier: {verified.Error}");
        error = null;
        return (compilation, verified.Program);
    }
}
