namespace Filter.Verifier;

/// <summary>Size limits on constants (spec/limits.md). The instruction limit is InstructionSet.MaxInstructions.</summary>
public static class Limits
{
    public const int MaxSets = 4096;
    public const int MaxRangesPerSet = 65536;
    public const int MaxStrings = 4096;
    public const int MaxStringLength = Filter.VM.RecordLayout.ExeMaxLength;
    public const int MaxVerdicts = 65535;
    public const int MaxKeyLength = 256;
}
