using System.Text;

namespace Filter;

/// <summary>A half-open range of character offsets [Start, End) in the filter text.</summary>
public readonly record struct TextSpan(int Start, int End)
{
    public int Length => End - Start;
    public static TextSpan Cover(TextSpan a, TextSpan b) => new(Math.Min(a.Start, b.Start), Math.Max(a.End, b.End));
}

public enum Severity { Error, Warning, Note }

public enum LocationKind
{
    /// <summary>The whole file or input (a damaged compressed stream, a file that cannot be opened).</summary>
    None,
    /// <summary>A span of a source text: a filter, a policy.</summary>
    Text,
    /// <summary>An instruction of a program, by pc; pc -1 is the container (header, sections).</summary>
    Instruction,
    /// <summary>A line, and optionally a column and length, of an input or rules file.</summary>
    Line,
}

/// <summary>Where a diagnostic points.</summary>
public readonly record struct DiagnosticLocation(LocationKind Kind, TextSpan Span = default, int Pc = -1, long Line = 0, int Column = 0, int Length = 0)
{
    public static DiagnosticLocation Text(TextSpan span) => new(LocationKind.Text, Span: span);
    public static DiagnosticLocation Instruction(int pc) => new(LocationKind.Instruction, Pc: pc);
    /// <summary>Line <paramref name="line"/> (1-based); <paramref name="column"/> 0 for the whole line.</summary>
    public static DiagnosticLocation InputLine(long line, int column = 0, int length = 0) => new(LocationKind.Line, Line: line, Column: column, Length: length);
}

/// <summary>
/// A problem found by any phase (compiler, assembler, verifier, record readers, the auditctl importer, the
/// kernel back end): a stable code, where it is, and a message. Errors are data; exceptions are for bugs.
/// The phase that finds a problem may not know the file's name: whoever does attaches it with
/// <see cref="In"/>. <see cref="DiagnosticRenderer"/> prints diagnostics as text, JSON or SARIF.
/// </summary>
public sealed record Diagnostic(DiagnosticCode Code, DiagnosticLocation Location, string Message, Severity Severity = Severity.Error)
{
    /// <summary>A diagnostic at a span of the source text.</summary>
    public Diagnostic(DiagnosticCode code, TextSpan span, string message, Severity severity = Severity.Error)
        : this(code, DiagnosticLocation.Text(span), message, severity) { }

    public TextSpan Span => Location.Span;

    /// <summary>The file it is about, as given (<c>filter</c> for an expression on the command line); null until known.</summary>
    public string? File { get; init; }

    /// <summary>
    /// The text its location is in, for the caret line: the whole source for a text span, the line itself for
    /// a line of an input; null when not at hand (a 2 GB log is not kept for its error messages).
    /// </summary>
    public string? SourceText { get; init; }

    /// <summary>This diagnostic, about <paramref name="file"/> whose text (or the line in question) is <paramref name="text"/>.</summary>
    public Diagnostic In(string file, string? text = null) => this with { File = file, SourceText = text ?? SourceText };

    public string CodeText => $"FLT{(int)Code:D4}";

    public string SeverityText => Severity switch { Severity.Error => "error", Severity.Warning => "warning", _ => "note" };

    /// <summary>For a verifier rule (FLT2xxx), its name as spec/verifier.md writes it (<c>jump-in-range</c>); else null.</summary>
    public string? RuleName => (int)Code is >= 2000 and < 3000 ? KebabCase(Code.ToString()) : null;

    /// <summary>
    /// The text form, as compilers print it so that editors can jump to it:
    /// <c>file:LINE:COL: error FLTnnnn: message</c> with the source line and a caret line under the span;
    /// <c>file: pc 12: error FLT2009: message [jump-in-range]</c> for an instruction;
    /// <c>file:LINE: error FLTnnnn: message</c> for a line of an input. Nothing in it can drive a terminal.
    /// </summary>
    public string Render()
    {
        string file = File ?? "filter";
        string head(string where) => $"{where}: {SeverityText} {CodeText}: {Escape(Message)}";
        switch (Location.Kind)
        {
            case LocationKind.Text when SourceText is { } text:
            {
                var (line, column) = LineColumn(text, Span.Start);
                int lineStart = Span.Start - (column - 1);
                int lineEnd = text.IndexOf('\n', Math.Min(lineStart, text.Length));
                if (lineEnd < 0) lineEnd = text.Length;
                string sourceLine = text[lineStart..lineEnd].TrimEnd('\r');
                int caretLength = Math.Max(1, Math.Min(Span.End, lineStart + sourceLine.Length) - Span.Start);
                return $"{head($"{file}:{line}:{column}")}\n{Quote(sourceLine, column, caretLength)}";
            }
            case LocationKind.Text:
                return head($"{file}: at offset {Span.Start}");
            case LocationKind.Instruction:
                string rule = RuleName is { } name ? $" [{name}]" : "";
                return Location.Pc >= 0 ? head($"{file}: pc {Location.Pc}") + rule : head(file) + rule;
            case LocationKind.Line when Location.Column > 0:
                string where = $"{file}:{Location.Line}:{Location.Column}";
                return SourceText is { } lineText
                    ? $"{head(where)}\n{Quote(lineText, Location.Column, Math.Min(Math.Max(1, Location.Length), Math.Max(1, lineText.Length - (Location.Column - 1))))}"
                    : head(where);
            case LocationKind.Line:
                return head($"{file}:{Location.Line}");
            default:
                return head(file);
        }
    }

    /// <summary>A file that cannot be opened or read (FLT3001), with the system's reason.</summary>
    public static Diagnostic CannotRead(string file, Exception e) =>
        new Diagnostic(DiagnosticCode.CannotRead, default(DiagnosticLocation), $"cannot read: {Reason(e, file)}").In(file);

    /// <summary>
    /// Why <paramref name="path"/> could not be opened or read, in a few words (the diagnostic names the file,
    /// so the reason does not repeat it): "no such file", "is a directory", "permission denied", or the
    /// system's own message for any other I/O error.
    /// </summary>
    public static string Reason(Exception e, string path) => e switch
    {
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException when Directory.Exists(path) => "is a directory",
        UnauthorizedAccessException => "permission denied",
        IOException when Directory.Exists(path) => "is a directory",
        _ => e.Message,
    };

    /// <summary>Renders a diagnostic at a span of <paramref name="text"/>, named <paramref name="sourceName"/>.</summary>
    public string Render(string text, string sourceName = "filter") => In(sourceName, text).Render();

    /// <summary>1-based line and column (in characters) of an offset.</summary>
    public static (int Line, int Column) LineColumn(string text, int offset)
    {
        int line = 1, lineStart = 0;
        for (int i = 0; i < offset && i < text.Length; i++)
            if (text[i] == '\n') { line++; lineStart = i + 1; }
        return (line, offset - lineStart + 1);
    }

    /// <summary>
    /// The two lines under a message: the source line (control characters shown as spaces, so nothing in it
    /// can drive a terminal) and a caret under <paramref name="length"/> characters from <paramref name="column"/>.
    /// </summary>
    public static string Quote(string sourceLine, int column, int length)
    {
        var echoed = new StringBuilder(sourceLine.Length);
        foreach (char c in sourceLine) echoed.Append(char.IsControl(c) ? ' ' : c);
        return $"  {echoed}\n  {new string(' ', column - 1)}^{new string('~', Math.Max(1, length) - 1)}";
    }

    /// <summary>
    /// A message with its control characters shown as <c>\xHH</c>: messages quote input (a key, a line of a
    /// log), and a message must never be able to move the cursor or forge a line.
    /// </summary>
    public static string Escape(string message)
    {
        if (!message.Any(char.IsControl)) return message;
        var sb = new StringBuilder(message.Length + 8);
        foreach (char c in message)
            if (char.IsControl(c)) sb.Append($"\\x{(int)c:x2}");
            else sb.Append(c);
        return sb.ToString();
    }

    private static string KebabCase(string name)
    {
        var sb = new StringBuilder(name.Length + 4);
        foreach (char c in name)
        {
            if (char.IsUpper(c) && sb.Length > 0) sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
