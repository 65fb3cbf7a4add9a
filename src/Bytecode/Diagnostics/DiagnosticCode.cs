namespace Filter;

/// <summary>
/// Every diagnostic code of every phase, stable (spec/diagnostics.md), printed <c>FLTnnnn</c>. The compiler:
/// FLT00xx syntax, FLT01xx names, FLT02xx types, FLT03xx limits, FLT04xx warnings, FLT05xx analysis. The
/// assembler: FLT1xxx. The verifier's rules: FLT2xxx (spec/verifier.md). Input records: FLT3xxx. auditctl
/// import findings: FLT4xxx. The kernel back end: FLT5xxx. The command line and the system around it: FLT6xxx.
/// </summary>
public enum DiagnosticCode
{
    SyntaxError = 1,
    BadStringLiteral = 2,
    NestingTooDeep = 3,
    InputTooLong = 4,
    NoRules = 5,
    MixedExpressionAndRules = 6,
    /// <summary>Text that is not Unicode: a byte of a file that is not UTF-8, an unpaired surrogate.</summary>
    InvalidText = 7,
    /// <summary>A date literal that is no time: not a date, a local time the clocks skip, before 1970, finer than a millisecond.</summary>
    BadTimeLiteral = 8,
    NumberTooLarge = 101,
    UnknownField = 102,
    UnknownSyscall = 103,
    UnknownName = 104,
    MisplacedName = 105,
    UnknownDefinition = 106,
    NameHidesBuiltin = 107,
    DuplicateDefinition = 108,
    UseBeforeDefinition = 109,
    WrongKindOfName = 110,
    TypeMismatch = 201,
    OperatorNotApplicable = 202,
    SetElementNotConstant = 203,
    EmptyRange = 204,
    ProgramTooLong = 301,
    TooManyRegisters = 302,
    SetTooLarge = 303,
    BadKey = 304,
    ExpansionTooLarge = 305,
    ConstantOutOfFieldRange = 401,
    StringLongerThanField = 402,
    FieldNamedLikeSyscall = 403,
    // filterc analyze (src/Compiler/Tools/PolicyAnalyzer.cs): warnings only the analysis can give.
    /// <summary>A rule whose condition no record satisfies (proven).</summary>
    RuleNeverMatches = 501,
    /// <summary>A rule that matches some records, but every one of them is decided by an earlier rule (proven).</summary>
    RuleShadowed = 502,
    /// <summary>A (sub-)condition that holds on every record.</summary>
    AlwaysTrue = 503,
    /// <summary>A sub-condition that holds on no record.</summary>
    AlwaysFalse = 504,
    /// <summary>A rule for which the analysis found no record it decides, without proving that none exists.</summary>
    RuleMayNeverDecide = 505,

    // ---- The assembler (src/Bytecode/Assembler.cs) ----------------------------------------------------
    /// <summary>A line of assembly text that cannot be read.</summary>
    AssemblySyntax = 1001,

    // ---- The verifier's rules (spec/verifier.md lists each with its reason and its test) ---------------
    /// <summary>The container is well formed: magic, version, section lengths, nothing trailing.</summary>
    Format = 2001,
    /// <summary>At least one instruction, at most <see cref="Filter.Bytecode.InstructionSet.MaxInstructions"/>.</summary>
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
    /// <summary>Keys hold no control character but \x01 (<see cref="Filter.Bytecode.ProgramKeys"/>): they are printed one per line.</summary>
    KeyText = 2016,

    // ---- Inputs: record files and streams, program and filter files ---------------------------------
    /// <summary>
    /// An input that cannot be opened, or read to its end (an I/O error; compressed data truncated or damaged):
    /// what follows in it is lost, so no lenient reading may skip it.
    /// </summary>
    CannotRead = 3001,
    /// <summary>A record or line of input that cannot be read (its shape, a field, its length); reading can go on past it.</summary>
    MalformedRecord = 3002,
    /// <summary>An input without what was asked of it (no record, no event of that serial).</summary>
    NotFound = 3003,

    // ---- auditctl import findings (src/Compiler/Import, spec/auditctl.md "Importing") -----------------
    /// <summary>A line auditctl or the kernel rejects: that rule is never loaded, so it is not imported.</summary>
    ImportInvalid = 4001,
    /// <summary>A rule that cannot be expressed over our records: left out of the policy.</summary>
    ImportUnsupported = 4002,
    /// <summary>A rule translated, but the kernel may decide differently on some records.</summary>
    ImportInexact = 4003,
    /// <summary>Translated exactly, but worth knowing.</summary>
    ImportNote = 4004,
    /// <summary>A line that sets no rule: nothing to import.</summary>
    ImportIgnored = 4005,
    /// <summary>A translation that depends on the host: a user or group name, what a watched path is there.</summary>
    ImportHost = 4006,

    // ---- The command line and the system around it (src/Cli) -----------------------------------------
    /// <summary>A command line the command cannot run with: options that exclude each other, a value out of range.</summary>
    BadCommandLine = 6001,
    /// <summary>An output file that cannot be written.</summary>
    CannotWrite = 6002,
    /// <summary>The kernel's audit interface cannot be used (not root, audit not built in, another reader).</summary>
    AuditUnavailable = 6003,

    // ---- The kernel back end (src/Kernel, spec/kernel.md) ---------------------------------------------
    /// <summary>Not Linux, not x86_64 or arm64, or a kernel without bpf(2).</summary>
    KernelUnsupported = 5001,
    /// <summary>A missing privilege: loading and attaching BPF programs needs root.</summary>
    KernelPermission = 5002,
    /// <summary>No kernel BTF, or a type or member the back end needs is not in it.</summary>
    KernelBtf = 5003,
    /// <summary>The kernel's verifier refused the translated program (the message ends with its log).</summary>
    KernelRefused = 5004,
    /// <summary>The program is beyond what the kernel back end can translate (spec/limits.md).</summary>
    KernelLimit = 5005,
    /// <summary>A system call of the kernel back end failed.</summary>
    KernelSystem = 5006,
    /// <summary>
    /// The filter reads a record field the kernel engine does not gather (the event's time, keys, PATH items, ...)
    /// or uses a string test it does not translate: refused, never run on a record without the field.
    /// </summary>
    KernelNotGathered = 5007,
}
