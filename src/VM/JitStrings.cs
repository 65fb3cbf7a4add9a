using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Op = System.Reflection.Emit.OpCodes;

namespace Filter.VM;

/// <summary>
/// String tests are rare and need the descriptor bounds check on every record, so the generated code
/// calls these helpers, which rebuild the <see cref="Record"/> view (no copy, no allocation) and use the
/// interpreter's own definition (<see cref="Semantics.StringField"/>): malformed descriptors read as "".
/// </summary>
internal static class JitStrings
{
    public static bool Equal(ref byte record, int length, int descriptorOffset, byte[] constant) =>
        Field(ref record, length, descriptorOffset).SequenceEqual(constant);

    public static bool StartsWith(ref byte record, int length, int descriptorOffset, byte[] constant) =>
        Field(ref record, length, descriptorOffset).StartsWith(constant);

    private static ReadOnlySpan<byte> Field(ref byte record, int length, int descriptorOffset) =>
        Semantics.StringField(new Record(MemoryMarshal.CreateReadOnlySpan(ref record, length)), descriptorOffset);
}

internal sealed partial class JitEmitter
{
    private void EmitStringTest(int pc, ExecInstruction i, string helper)
    {
        il.Emit(Op.Ldarg_1);
        il.Emit(Op.Ldarg_2);
        il.Emit(Op.Ldc_I4, (int)i.A);
        il.Emit(Op.Ldarg_0);
        il.Emit(Op.Ldfld, typeof(JitConstants).GetField(nameof(JitConstants.Strings))!);
        il.Emit(Op.Ldc_I4, (int)i.Imm);
        il.Emit(Op.Ldelem_Ref);
        il.Emit(Op.Call, typeof(JitStrings).GetMethod(helper)!);
        il.Emit(Op.Brtrue, _labels[i.True]);
        GoTo(pc, i.False);
    }
}
