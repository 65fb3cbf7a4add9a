namespace Filter.Bytecode;

/// <summary>Size limits on a program's constants (spec/limits.md), enforced by the verifier and respected by the compiler. The instruction limit is InstructionSet.MaxInstructions.</summary>
public static class ProgramLimits
{
    public const int MaxSets = 65536;
    public const int MaxRangesPerSet = 65536;
    public const int MaxStrings = 65536;
    public const int MaxStringLength = RecordLayout.ExeMaxLength;
    public const int MaxVerdicts = 65535;
    public const int MaxKeyLength = 256;
}
