using Filter.Compiler.Syntax;

namespace Filter.Compiler.Binding;

/// <summary>
/// Hints for what auditctl users and log readers write first: a bare word compared with a string field
/// (<c>comm == cat</c>: the string unquoted), <c>yes</c>/<c>no</c> for a boolean field (the log's
/// <c>success=no</c>), auditctl's <c>b64</c>/<c>b32</c> for an arch. Each is the hint of the error the name
/// already gets (unknown field, unknown arch), in place of a spelling suggestion that would mislead.
/// </summary>
public sealed partial class Binder
{
    // The field and operator a bare name is compared with while that name is bound, for UnknownName.
    private (string Field, BinaryOp Op)? _comparedWith;

    /// <summary>Binds one operand of a comparison, knowing the field on the other side when both are bare names.</summary>
    private BoundNode? BindComparisonOperand(BinarySyntax b, SyntaxNode operand, SyntaxNode other)
    {
        if (operand is not NameSyntax || other is not NameSyntax field) return BindNode(operand);
        _comparedWith = (field.Name, b.Op);
        try { return BindNode(operand); }
        finally { _comparedWith = null; }
    }

    /// <summary>The hint for an unknown <paramref name="name"/> compared with a field, if the field says what was meant.</summary>
    private string? ComparisonHint(string name)
    {
        if (_comparedWith is not var (field, op)) return null;
        if (RecordLayout.StringNamed(field) is not null)
            return $" (a string is quoted: {field} {OpText(op)} \"{name}\")";
        if (RecordLayout.ScalarNamed(field) is { IsBoolean: true } && name is "yes" or "no")
            return $" ({field} is true or false: {field} {OpText(op)} {(name == "yes" ? "true" : "false")})";
        return null;
    }

    /// <summary>auditctl's arch spellings (<c>-F arch=b64</c>), which name the machine's own arches.</summary>
    private static string? ArchHint(string name) => name switch
    {
        "b64" => " (auditctl's b64 is the machine's 64-bit arch: arch == x86_64, or aarch64 on arm64)",
        "b32" => " (auditctl's b32 is the machine's 32-bit arch: arch == i386, or arm on arm64)",
        _ => null,
    };
}
