using System.Reflection.Emit;
using System.Runtime.CompilerServices;

using OpCode = Filter.Bytecode.OpCode;

namespace Filter.VM;

/// <summary>
/// Compiles a verified program to IL (<see cref="DynamicMethod"/>), which the runtime's JIT turns into
/// machine code: registers become IL locals, jumps become branches to labels, loads read the record at
/// constant offsets. The verifier's proofs (field offsets in the header, registers written before read,
/// targets in range, constant indices valid) are why the generated code needs no checks of its own except
/// the string descriptors' bounds, which depend on the record. Semantics are the interpreter's exactly.
/// The generated loads are little-endian: <see cref="RecordFilters.Create"/> runs the interpreter instead on a
/// big-endian machine, and where code cannot be generated at all.
/// </summary>
public static class Jit
{
    /// <exception cref="PlatformNotSupportedException">A big-endian machine (use <see cref="RecordFilters.Create"/>).</exception>
    public static JitFilter Compile(VerifiedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the JIT generates little-endian loads");
        // A VerifiedProgram is immutable, so compiling the same one twice returns the first JitFilter, kept
        // with the program for as long as it lives.
        return program.Derived(static p => new JitFilter(p, Emit(ProgramForm.Of(p))));
    }

    private static FilterFn Emit(ProgramForm program)
    {
        // Argument 0 is the constants object the delegate is closed over; 1 the record; 2 its length.
        // Anonymously hosted, not owned by typeof(Jit): an owned method inherits its module's debuggable
        // attribute, so in a Debug build of Filter.VM (the tests) the runtime compiled filters with MinOpts
        // and just-my-code probes. restrictedSkipVisibility still lets the IL reach this assembly's internals.
        var method = new DynamicMethod(
            "filter", typeof(uint), [typeof(JitConstants), typeof(byte).MakeByRefType(), typeof(int)],
            restrictedSkipVisibility: true)
        {
            // The verifier proved every register is written before it is read: no zeroing needed.
            InitLocals = false,
        };
        var emitter = new JitEmitter(program, method.GetILGenerator());
        emitter.EmitProgram();
        var constants = new JitConstants(program.Sets, program.Strings, emitter.BitmapWords.ToArray());
        return (FilterFn)method.CreateDelegate(typeof(FilterFn), constants);
    }

    /// <summary>
    /// The batch loop with the program inlined (<c>JitBatch.cs</c>). Compiled on a filter's first batch,
    /// not by <see cref="Compile"/>: callers that never batch do not pay for it.
    /// </summary>
    internal static BatchFn EmitBatch(ProgramForm program, BatchOutput output)
    {
        // Arguments: 0 constants, 1 ref byte buffer, 2 ref int offsets, 3 count, 4 ref int output.
        // Anonymously hosted for the reason given in Emit.
        var method = new DynamicMethod(
            output == BatchOutput.Verdicts ? "filter_batch" : "filter_indices", typeof(int),
            [typeof(JitConstants), typeof(byte).MakeByRefType(), typeof(int).MakeByRefType(), typeof(int), typeof(int).MakeByRefType()],
            restrictedSkipVisibility: true)
        {
            InitLocals = false,
        };
        var emitter = new JitEmitter(program, method.GetILGenerator());
        emitter.EmitBatch(output);
        var constants = new JitConstants(program.Sets, program.Strings, emitter.BitmapWords.ToArray());
        return (BatchFn)method.CreateDelegate(typeof(BatchFn), constants);
    }
}

/// <summary>The compiled program: the verdict for the record starting at <paramref name="record"/>.</summary>
internal delegate uint FilterFn(ref byte record, int length);

/// <summary>
/// A compiled program's constants, bound as the delegate's target (argument 0), so nothing the generated
/// code reads is static or mutable.
/// </summary>
internal sealed class JitConstants(SetMatcher[] sets, byte[][] strings, ulong[] bitmapWords)
{
    /// <summary>Matchers for sets too large to inline (called, not inlined).</summary>
    public readonly SetMatcher[] Sets = sets;
    public readonly byte[][] Strings = strings;
    /// <summary>The bitmaps of inlined bitmap sets, concatenated; each jin knows its base index.</summary>
    public readonly ulong[] BitmapWords = bitmapWords;
}
