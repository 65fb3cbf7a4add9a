using Filter.Kernel.Asm;

namespace Filter.Kernel.Translate;

/// <summary>The translator's entry point: a verified program's body in eBPF, for a prologue of the caller's.</summary>
public static class FilterTranslator
{
    /// <summary>
    /// Appends the translation of <paramref name="program"/> to <paramref name="asm"/>: it reads the record
    /// through <see cref="BodyLayout.Record"/> (whose length word is <see cref="KernelRecord.LengthFromRecord"/>
    /// bytes from it), keeps our registers after it (<see cref="KernelRecord.RegistersFromRecord"/>), and ends
    /// with the verdict in r0.
    /// </summary>
    public static void EmitBody(BpfAssembler asm, VerifiedProgram program, BodyLayout layout) =>
        BodyTranslator.Emit(asm, FilterView.Of(program), layout);
}
