using System.Reflection.Emit;
using System.Runtime.InteropServices;
using Op = System.Reflection.Emit.OpCodes;

using OpCode = Filter.Bytecode.OpCode;

namespace Filter.VM;

/// <summary>
/// <c>jin</c>: set membership compiled into the code, picked per set (first that applies):
/// <list type="number">
/// <item>every member below 64 (typical small syscall/errno sets): one 64-bit constant mask,
///   <c>v &lt; 64 &amp;&amp; (mask &gt;&gt; v &amp; 1) != 0</c> — no memory access at all;</item>
/// <item>at most <see cref="InlineRanges"/> ranges: a balanced binary tree of range compares with the
///   bounds as immediates (signed or unsigned branches as the set says), at most ~log2(n)+1 tests;</item>
/// <item>members all below <see cref="SetMatcher.BitmapLimit"/> (large syscall allowlists): one bound
///   test and one word load from a bitmap bound to the delegate, no array bounds check;</item>
/// <item>otherwise (many ranges of large values): a call to <see cref="SetMatcher.Contains"/>.</item>
/// </list>
/// Every strategy answers exactly <see cref="ValueSet.Contains"/>; the JIT tests cover each.
/// </summary>
internal sealed partial class JitEmitter
{
    /// <summary>Up to this many ranges a compare tree is small (~4 IL branches per range) and fast.</summary>
    public const int InlineRanges = 8;

    private Emitted EmitJin(int pc, ExecInstruction i)
    {
        var matcher = program.Sets[(int)i.Imm];
        Label yes = _labels[i.True], no = _labels[i.False];
        var value = Register(i.A);
        if (matcher.Bitmap is { Length: 1 } mask) EmitMaskTest(value, mask[0], yes, no);
        else if (matcher.Set.Ranges.Count <= InlineRanges) EmitRangeTree(value, matcher.Set, 0, matcher.Set.Ranges.Count - 1, yes, no);
        else if (matcher.Bitmap is { } bitmap) EmitBitmapTest(value, bitmap, yes, no);
        else EmitMatcherCall(value, (int)i.Imm, yes);
        GoTo(pc, i.False);
        return default;
    }

    private void EmitMaskTest(LocalBuilder value, ulong mask, Label yes, Label no)
    {
        il.Emit(Op.Ldloc, value);
        Const(64);
        il.Emit(Op.Bge_Un, no);
        Const(mask);
        il.Emit(Op.Ldloc, value);
        il.Emit(Op.Conv_I4);
        il.Emit(Op.Shr_Un);
        Const(1);
        il.Emit(Op.And);
        il.Emit(Op.Brtrue, yes);
    }

    /// <summary>
    /// Ranges lo..hi of the sorted, disjoint set: test the middle range, recurse left when below it and
    /// right when above. Falls through (to the caller's branch to <paramref name="no"/>) when absent.
    /// </summary>
    private void EmitRangeTree(LocalBuilder value, ValueSet set, int lo, int hi, Label yes, Label no)
    {
        if (lo > hi) { il.Emit(Op.Br, no); return; }
        int mid = (lo + hi) >>> 1;
        var r = set.Ranges[mid];
        var below = lo < mid ? il.DefineLabel() : no;
        if (r.Lo == r.Hi)
        {
            il.Emit(Op.Ldloc, value); Const(r.Lo); il.Emit(Op.Beq, yes);
            if (lo < mid || mid < hi) { il.Emit(Op.Ldloc, value); Const(r.Lo); il.Emit(set.Signed ? Op.Blt : Op.Blt_Un, below); }
        }
        else
        {
            il.Emit(Op.Ldloc, value); Const(r.Lo); il.Emit(set.Signed ? Op.Blt : Op.Blt_Un, below);
            il.Emit(Op.Ldloc, value); Const(r.Hi); il.Emit(set.Signed ? Op.Ble : Op.Ble_Un, yes);
        }
        EmitRangeTree(value, set, mid + 1, hi, yes, no);
        if (lo < mid)
        {
            il.MarkLabel(below);
            EmitRangeTree(value, set, lo, mid - 1, yes, no);
        }
    }

    /// <summary>
    /// <c>v &lt; bits &amp;&amp; (words[base + v/64] &gt;&gt; v%64 &amp; 1) != 0</c>. The bound test makes
    /// the index provably in range, so the word is read through a raw reference without a bounds check.
    /// </summary>
    private void EmitBitmapTest(LocalBuilder value, ulong[] bitmap, Label yes, Label no)
    {
        int baseIndex = BitmapWords.Count;
        BitmapWords.AddRange(bitmap);
        il.Emit(Op.Ldloc, value);
        Const((ulong)bitmap.Length * 64);
        il.Emit(Op.Bge_Un, no);
        il.Emit(Op.Ldarg_0);
        il.Emit(Op.Ldfld, typeof(JitConstants).GetField(nameof(JitConstants.BitmapWords))!);
        il.Emit(Op.Call, typeof(MemoryMarshal).GetMethod(nameof(MemoryMarshal.GetArrayDataReference), 1, [Type.MakeGenericMethodParameter(0).MakeArrayType()])!.MakeGenericMethod(typeof(ulong)));
        il.Emit(Op.Ldloc, value);
        il.Emit(Op.Ldc_I4_6);
        il.Emit(Op.Shr_Un);
        if (baseIndex != 0) { Const((ulong)baseIndex); il.Emit(Op.Add); }
        il.Emit(Op.Ldc_I4_3);
        il.Emit(Op.Shl);
        il.Emit(Op.Conv_I);
        il.Emit(Op.Add);
        il.Emit(Op.Ldind_I8);
        il.Emit(Op.Ldloc, value);
        il.Emit(Op.Conv_I4);
        il.Emit(Op.Ldc_I4, 63);
        il.Emit(Op.And);
        il.Emit(Op.Shr_Un);
        Const(1);
        il.Emit(Op.And);
        il.Emit(Op.Brtrue, yes);
    }

    private void EmitMatcherCall(LocalBuilder value, int setIndex, Label yes)
    {
        il.Emit(Op.Ldarg_0);
        il.Emit(Op.Ldfld, typeof(JitConstants).GetField(nameof(JitConstants.Sets))!);
        il.Emit(Op.Ldc_I4, setIndex);
        il.Emit(Op.Ldelem_Ref);
        il.Emit(Op.Ldloc, value);
        il.Emit(Op.Call, typeof(SetMatcher).GetMethod(nameof(SetMatcher.Contains))!);
        il.Emit(Op.Brtrue, yes);
    }
}
