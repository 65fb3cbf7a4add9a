using System.Reflection.Emit;
using Op = System.Reflection.Emit.OpCodes;

using OpCode = Filter.Bytecode.OpCode;

namespace Filter.VM;

/// <summary>What a compiled batch loop writes per record.</summary>
internal enum BatchOutput
{
    /// <summary><c>output[i] = verdict</c> for every record i (<see cref="IRecordFilter.RunBatch"/>).</summary>
    Verdicts,
    /// <summary><c>output[n++] = i</c> for every matching record i (<see cref="IRecordFilter.MatchIndices"/>).</summary>
    Indices,
}

/// <summary>The compiled batch loop; returns the number of matching records.</summary>
internal delegate int BatchFn(ref byte buffer, ref int offsets, int count, ref int output);

/// <summary>
/// The batch frame: one method whose IL is a loop over the records with the program's body inlined in
/// it, so a batch costs one delegate call, not one per record.
/// <code>
///   i = 0; n = 0; goto check;
/// loop:
///   start = offsets[i]; record = ref buffer[start]; length = offsets[i + 1] - start; (if strings are tested)
///   &lt;the program, reading record and length; each "ret k" stores k (or i) and goes to next&gt;
/// next:
///   i++;
/// check:
///   if (i &lt; count) goto loop;
///   return n;
/// </code>
/// Arguments: 0 = <see cref="JitConstants"/>, 1 = <c>ref byte</c> buffer, 2 = <c>ref int</c> offsets,
/// 3 = count, 4 = <c>ref int</c> output. The caller (<see cref="JitFilter"/>) has checked what the loop
/// relies on: the <see cref="RecordBatch"/> constructor proved every record lies in the buffer and holds
/// a header, and the output holds <c>count</c> entries. Registers need no reset between records: the
/// verifier proved each is written before it is read on every path from pc 0.
/// </summary>
internal sealed partial class JitEmitter
{
    private sealed record BatchFrame(BatchOutput Output, LocalBuilder Index, LocalBuilder Matches, LocalBuilder Record, LocalBuilder Length, Label Next);

    private BatchFrame? _batch;

    public void EmitBatch(BatchOutput output)
    {
        var index = il.DeclareLocal(typeof(int));
        var matches = il.DeclareLocal(typeof(int));
        var start = il.DeclareLocal(typeof(int));
        _batch = new BatchFrame(output, index, matches, il.DeclareLocal(typeof(byte).MakeByRefType()), il.DeclareLocal(typeof(int)), il.DefineLabel());
        Label loop = il.DefineLabel(), check = il.DefineLabel();

        il.Emit(Op.Ldc_I4_0); il.Emit(Op.Stloc, index);
        il.Emit(Op.Ldc_I4_0); il.Emit(Op.Stloc, matches);
        il.Emit(Op.Br, check);

        il.MarkLabel(loop);
        OffsetAddress(index);
        il.Emit(Op.Ldind_I4);
        il.Emit(Op.Stloc, start);
        // Only string tests read the length: other programs skip the load of offsets[i + 1].
        if (program.Exec.Any(i => InstructionSet.Get(i.Op).A == Filter.Bytecode.Operand.StringField))
        {
            OffsetAddress(index);
            il.Emit(Op.Ldc_I4_4); il.Emit(Op.Add);
            il.Emit(Op.Ldind_I4);
            il.Emit(Op.Ldloc, start);
            il.Emit(Op.Sub);
            il.Emit(Op.Stloc, _batch.Length);
        }
        il.Emit(Op.Ldarg_1);
        il.Emit(Op.Ldloc, start);
        il.Emit(Op.Conv_I);
        il.Emit(Op.Add);
        il.Emit(Op.Stloc, _batch.Record);

        EmitBody();

        il.MarkLabel(_batch.Next);
        il.Emit(Op.Ldloc, index); il.Emit(Op.Ldc_I4_1); il.Emit(Op.Add); il.Emit(Op.Stloc, index);
        il.MarkLabel(check);
        il.Emit(Op.Ldloc, index);
        il.Emit(Op.Ldarg_3);
        il.Emit(Op.Blt, loop);
        il.Emit(Op.Ldloc, matches);
        il.Emit(Op.Ret);
    }

    /// <summary><c>ret k</c> in the loop: record the result, then on to the next record.</summary>
    private void EmitBatchReturn(int pc, uint verdict)
    {
        var b = _batch!;
        if (b.Output == BatchOutput.Verdicts)
        {
            // output[i] = k
            ElementAddress(b.Index);
            il.Emit(Op.Ldc_I4, unchecked((int)verdict));
            il.Emit(Op.Stind_I4);
        }
        else if (verdict != 0)
        {
            // output[n] = i
            ElementAddress(b.Matches);
            il.Emit(Op.Ldloc, b.Index);
            il.Emit(Op.Stind_I4);
        }
        if (verdict != 0) { il.Emit(Op.Ldloc, b.Matches); il.Emit(Op.Ldc_I4_1); il.Emit(Op.Add); il.Emit(Op.Stloc, b.Matches); }
        // The last instruction is always a ret (the verifier's rule), and next follows it directly.
        if (pc != _labels.Length - 1) il.Emit(Op.Br, b.Next);
    }

    /// <summary>Pushes <c>ref offsets[i]</c>.</summary>
    private void OffsetAddress(LocalBuilder i) => IntAddress(2, i);

    /// <summary>Pushes <c>ref output[i]</c>.</summary>
    private void ElementAddress(LocalBuilder i) => IntAddress(4, i);

    private void IntAddress(byte argument, LocalBuilder i)
    {
        il.Emit(Op.Ldarg_S, argument);
        il.Emit(Op.Ldloc, i);
        il.Emit(Op.Conv_I);
        il.Emit(Op.Ldc_I4_4);
        il.Emit(Op.Mul);
        il.Emit(Op.Add);
    }
}
