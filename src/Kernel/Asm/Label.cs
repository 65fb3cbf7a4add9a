namespace Filter.Kernel.Asm;

/// <summary>A jump target, bound to a position when marked; jumps to it are resolved when the program is marshalled.</summary>
public sealed class Label(string? name = null)
{
    public string? Name { get; } = name;

    /// <summary>The index of the instruction the label stands before, or -1 while unmarked.</summary>
    internal int Index = -1;

    public override string ToString() => Name ?? (Index >= 0 ? $"L{Index}" : "unmarked label");
}
