using System.Reflection.Emit;
using Op = System.Reflection.Emit.OpCodes;

namespace Filter.VM;

/// <summary>
/// <c>jswitch</c>: a set of small values (syscall numbers, <see cref="SwitchTable.Fits"/>) becomes an IL
/// <c>switch</c> (a jump table the runtime JIT emits as one indexed jump) behind one bound test; any other set
/// a balanced tree of range compares with each range's own target. Either answers exactly the case
/// <see cref="SetMatcher.IndexOf"/> finds.
/// </summary>
internal sealed partial class JitEmitter
{
    private Emitted EmitSwitch(int pc, ExecInstruction i)
    {
        var set = program.Sets[(int)i.Imm].Set;
        var value = Register(i.A);
        Label otherwise = _labels[i.False];
        if (SwitchTable.Fits(set))
        {
            var targets = new Label[SwitchTable.Length(set)];
            Array.Fill(targets, otherwise);
            for (int c = 0; c < set.Ranges.Count; c++)
                for (ulong v = set.Ranges[c].Lo; v <= set.Ranges[c].Hi; v++) targets[v] = _labels[i.True + c];
            il.Emit(Op.Ldloc, value);
            Const((ulong)targets.Length);
            il.Emit(Op.Bge_Un, otherwise);
            il.Emit(Op.Ldloc, value);
            il.Emit(Op.Conv_U4);
            il.Emit(Op.Switch, targets);
            il.Emit(Op.Br, otherwise); // not reached: every index below the bound has a label
        }
        else
        {
            EmitCaseTree(value, set, 0, set.Ranges.Count - 1, i.True, otherwise);
        }
        return default;
    }

    /// <summary>Ranges lo..hi: the middle range's case when the value is in it, below or above it the halves.</summary>
    private void EmitCaseTree(LocalBuilder value, ValueSet set, int lo, int hi, int firstCase, Label otherwise)
    {
        if (lo > hi) { il.Emit(Op.Br, otherwise); return; }
        int mid = (lo + hi) >>> 1;
        var r = set.Ranges[mid];
        var below = lo < mid ? il.DefineLabel() : otherwise;
        il.Emit(Op.Ldloc, value); Const(r.Lo); il.Emit(set.Signed ? Op.Blt : Op.Blt_Un, below);
        il.Emit(Op.Ldloc, value); Const(r.Hi); il.Emit(set.Signed ? Op.Ble : Op.Ble_Un, _labels[firstCase + mid]);
        EmitCaseTree(value, set, mid + 1, hi, firstCase, otherwise);
        if (lo < mid)
        {
            il.MarkLabel(below);
            EmitCaseTree(value, set, lo, mid - 1, firstCase, otherwise);
        }
    }
}
