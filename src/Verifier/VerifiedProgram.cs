using System.Collections.Frozen;

namespace Filter.Verifier;

/// <summary>
/// A program that passed the verifier, and the only thing the engines run. It is made here, by
/// <see cref="Verifier"/> alone (the constructor is internal to this assembly, and no other assembly sees
/// this one's internals), and it cannot change afterwards: its image was decoded from the verified bytes
/// into a copy of its own, immutable all the way down (spec/verifier.md, "What a verified program is").
/// The engines derive their own forms from it (the interpreter's steps, IL, eBPF), each once per program.
/// </summary>
public sealed class VerifiedProgram
{
    /// <summary>The program as decoded from the verified bytes: code, constants and keys.</summary>
    public ProgramImage Image { get; }

    /// <summary>The encoded bytes that were verified.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The most instructions any run executes (the longest path through the loop-free code).</summary>
    public int MaxPathLength { get; }

    /// <summary>
    /// False when no instruction reads the record (a constant filter such as <c>true</c>): such a program
    /// decides every event alike, including events that carry no syscall record.
    /// </summary>
    public bool ReadsRecord => FieldsRead.Count > 0;

    /// <summary>
    /// The names of the record fields the program reads: a record source may decode only these
    /// (spec/auditd.md).
    /// </summary>
    public IReadOnlySet<string> FieldsRead { get; }

    internal VerifiedProgram(ProgramImage image, byte[] bytes, int maxPathLength)
    {
        Image = image;
        Bytes = bytes;
        MaxPathLength = maxPathLength;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in image.Code)
            if (FieldReadBy(i) is { } field) fields.Add(field);
        FieldsRead = fields.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The record field an instruction reads (a load's, a string test's), or null (instruction table).</summary>
    internal static string? FieldReadBy(Instruction i)
    {
        var info = InstructionSet.Get(i.Op);
        if (info.Imm == Operand.Field) return RecordLayout.ScalarAt((long)i.Imm)!.Name;
        if (info.A == Operand.StringField) return RecordLayout.StringAt(i.A)!.Name;
        return null;
    }

    public IReadOnlyList<Instruction> Code => Image.Code;

    /// <summary>
    /// A form of this program that an engine or analysis derives from it (the interpreter's steps, the JIT's
    /// code, the syscall match table), built by <paramref name="build"/> on first use and kept with the program
    /// for its lifetime: one per type. Threads asking for a form not built yet wait for the one building it
    /// (the workers of a parallel run all start by asking for the same ones: each built them, a policy's
    /// syscall table twice). What is kept is derived from the program, so it changes nothing the verifier
    /// proved; a lookup of a built form is a few loads and no lock (engines call it per record).
    /// </summary>
    public T Derived<T>(Func<VerifiedProgram, T> build) where T : class
    {
        int slot = DerivedSlot<T>.Index;
        if (Built<T>(slot) is { } known) return known;
        lock (_building) return Built<T>(slot) ?? AddDerived(slot, build(this));
    }

    private T? Built<T>(int slot) where T : class =>
        Volatile.Read(ref _derived) is { } forms && slot < forms.Length ? forms[slot] as T : null;

    // Held while a form is built; building one may ask for another (the lock is reentrant).
    private readonly Lock _building = new();

    // Under _building: readers see the old array or the grown one, never one half-filled.
    private T AddDerived<T>(int slot, T value) where T : class
    {
        var forms = _derived;
        var grown = new object?[Math.Max(slot + 1, forms?.Length ?? 0)];
        forms?.CopyTo(grown, 0);
        grown[slot] = value;
        Volatile.Write(ref _derived, grown);
        return value;
    }

    private object?[]? _derived;

    /// <summary>One slot number per type of derived form, given out once.</summary>
    private static class DerivedSlot<T>
    {
        public static readonly int Index = Interlocked.Increment(ref _nextSlot) - 1;
    }

    private static int _nextSlot;

    public int InstructionCount => Image.Code.Count;

    public IReadOnlyList<string> Keys => Image.Keys;
}
