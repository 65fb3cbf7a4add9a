using Filter.Kernel.Asm;
using FilterInsn = Filter.Bytecode.Instruction;

namespace Filter.Kernel.Translate;

/// <summary><c>jswitch</c>: a compare tree over the set's ranges, each range going to its own case (<see cref="CompareTree.EmitCases"/>).</summary>
internal sealed partial class BodyTranslator
{
    private Emitted SwitchTest(int pc, FilterInsn insn)
    {
        Load(A, insn.A);
        var set = _program.Sets[(int)insn.Imm];
        var cases = new Label[set.Ranges.Count];
        for (int c = 0; c < cases.Length; c++) cases[c] = _pcs[insn.TrueTarget(pc) + c];
        CompareTree.EmitCases(_asm, set.Ranges, set.Signed, A, B, cases, _pcs[insn.FalseTarget(pc)]);
        return default;
    }
}
