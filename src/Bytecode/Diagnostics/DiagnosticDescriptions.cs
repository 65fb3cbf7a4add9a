using System.Text.RegularExpressions;

namespace Filter;

/// <summary>
/// What each diagnostic code means, read from the tables of spec/diagnostics.md (embedded in this assembly),
/// where it is defined once: rows <c>| code | meaning |</c> whose code is <c>FLTnnnn</c>.
/// </summary>
public static partial class DiagnosticDescriptions
{
    private static readonly Lazy<Dictionary<string, string>> Table = new(Load);

    /// <summary>The code's meaning as the spec writes it (Markdown), or null for a code it does not list.</summary>
    public static string? Markdown(string code) => Table.Value.GetValueOrDefault(code);

    /// <summary>The code's meaning as plain text (code spans and emphasis unmarked), or null.</summary>
    public static string? Text(string code) => Markdown(code) is { } md ? Emphasis().Replace(md.Replace("`", ""), "$1") : null;

    /// <summary>Every code the spec lists.</summary>
    public static IReadOnlyCollection<string> Codes => Table.Value.Keys;

    private static Dictionary<string, string> Load()
    {
        using var stream = typeof(DiagnosticDescriptions).Assembly.GetManifestResourceStream("spec/diagnostics.md")
            ?? throw new InvalidOperationException("spec/diagnostics.md is not embedded in Filter.Bytecode");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
            if (Row().Match(line) is { Success: true } m) table[m.Groups[1].Value] = m.Groups[2].Value.Trim();
        return table;
    }

    [GeneratedRegex(@"^\| (FLT\d{4}) \| (.+) \|$", RegexOptions.CultureInvariant)]
    private static partial Regex Row();

    [GeneratedRegex(@"\*([^*]+)\*", RegexOptions.CultureInvariant)]
    private static partial Regex Emphasis();
}
