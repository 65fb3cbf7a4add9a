namespace Filter.Compiler.Tools;

/// <summary>
/// The warnings of <c>filterc analyze</c> (spec/diagnostics.md, FLT05xx). They are values of
/// <see cref="DiagnosticCode"/> so that they render and serialise like every other diagnostic; they are
/// defined here, beside the analysis that reports them, because only the analysis can tell.
/// </summary>
public static class AnalysisCodes
{
    /// <summary>A rule whose condition no record satisfies (proven).</summary>
    public const DiagnosticCode RuleNeverMatches = (DiagnosticCode)501;

    /// <summary>A rule that matches some records, but every one of them is decided by an earlier rule (proven).</summary>
    public const DiagnosticCode RuleShadowed = (DiagnosticCode)502;

    /// <summary>A (sub-)condition that holds on every record.</summary>
    public const DiagnosticCode AlwaysTrue = (DiagnosticCode)503;

    /// <summary>A sub-condition that holds on no record.</summary>
    public const DiagnosticCode AlwaysFalse = (DiagnosticCode)504;

    /// <summary>A rule for which the analysis found no record it decides, without proving that none exists.</summary>
    public const DiagnosticCode RuleMayNeverDecide = (DiagnosticCode)505;
}
