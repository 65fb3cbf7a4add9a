using Filter.Compiler;
using Filter.Compiler.Analysis;

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
    /// Compiles and verifies the pre-filter. Its diagnostics are the scope's, positioned in the scope's own text
    /// (named <c>scope</c>): the IDS's part has none. When the scope does not compile, there is no program.
    /// </summary>
    public static LoadResult Compile(string? scope)
    {
        LoadResult? alone = null;
        if (scope is not null)
        {
            alone = FilterProgram.Compile(scope, "scope");
            if (!alone.Success) return alone;
        }
        var result = FilterProgram.Compile(Source(scope), "ids pre-filter");
        if (!result.Success && scope is null) throw new InvalidOperationException(DiagnosticRenderer.Render(DiagnosticsFormat.Text, result.Diagnostics));
        // A scope that compiles alone but not within the whole (too long, say) keeps the whole's diagnostics.
        return alone is not null && result.Success ? result with { Diagnostics = alone.Diagnostics } : result;
    }
}
