namespace Filter.Verifier;

/// <summary>
/// The rules a program must satisfy (spec/verifier.md lists each with its reason and its test).
/// The numeric value is the stable diagnostic code (FLT2xxx).
/// </summary>
public enum VerifierRule
{
    /// <summary>The container is well formed: magic, version, section lengths, nothing trailing.</summary>
    Format = 2001,
    /// <summary>At least one instruction, at most <see cref="Filter.VM.InstructionSet.MaxInstructions"/>.</summary>
    Length = 2002,
    /// <summary>Every opcode byte is in the instruction table.</summary>
    KnownOpcode = 2003,
    /// <summary>Unused slots, the reserved byte and unused jump offsets are zero.</summary>
    UnusedZero = 2004,
    /// <summary>Register operands name one of the 16 registers.</summary>
    RegisterRange = 2005,
    /// <summary>Loads read a whole scalar field: a field's offset with the field's size.</summary>
    FieldLoad = 2006,
    /// <summary>String tests name a string field's descriptor.</summary>
    StringField = 2007,
    /// <summary>Set and string operands index an existing constant.</summary>
    ConstantIndex = 2008,
    /// <summary>Every jump lands on an instruction of the program (offsets are unsigned: always forward).</summary>
    JumpInRange = 2009,
    /// <summary>No path runs past the last instruction without returning.</summary>
    EndsInReturn = 2010,
    /// <summary>No register is read before it is written on every path reaching the read.</summary>
    InitialisedRegister = 2011,
    /// <summary>Every instruction is reachable from the first.</summary>
    Reachable = 2012,
    /// <summary>A return's verdict is 0 or a declared rule number.</summary>
    VerdictRange = 2013,
    /// <summary>Set constants are sorted, disjoint, non-empty ranges, and within the size limits.</summary>
    SetConstant = 2014,
    /// <summary>String constants and keys are within their size limits.</summary>
    StringConstant = 2015,
    /// <summary>Keys hold no control character but \x01 (<see cref="Filter.VM.ProgramKeys"/>): they are printed one per line.</summary>
    KeyText = 2016,
}

/// <summary>Why a program was rejected: the rule, the instruction (-1 for the container) and what was wrong.</summary>
public sealed record VerifierError(VerifierRule Rule, int Pc, string Message)
{
    public string Code => $"FLT{(int)Rule}";

    public override string ToString() =>
        Pc >= 0 ? $"pc {Pc}: {Message} [{Code} {RuleName}]" : $"{Message} [{Code} {RuleName}]";

    public string RuleName => Rule switch
    {
        VerifierRule.Format => "format",
        VerifierRule.Length => "length",
        VerifierRule.KnownOpcode => "known-opcode",
        VerifierRule.UnusedZero => "unused-zero",
        VerifierRule.RegisterRange => "register-range",
        VerifierRule.FieldLoad => "field-load",
        VerifierRule.StringField => "string-field",
        VerifierRule.ConstantIndex => "constant-index",
        VerifierRule.JumpInRange => "jump-in-range",
        VerifierRule.EndsInReturn => "ends-in-return",
        VerifierRule.InitialisedRegister => "initialised-register",
        VerifierRule.Reachable => "reachable",
        VerifierRule.VerdictRange => "verdict-range",
        VerifierRule.SetConstant => "set-constant",
        VerifierRule.StringConstant => "string-constant",
        VerifierRule.KeyText => "key-text",
        _ => Rule.ToString(),
    };
}
