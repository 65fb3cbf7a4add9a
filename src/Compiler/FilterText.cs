using System.Text;
using System.Text.Unicode;

namespace Filter.Compiler;

/// <summary>
/// A filter file's bytes as text. A filter is UTF-8: a byte that is not (a file in Latin-1, a stray 0xff)
/// is a positioned error (FLT0007), never read as U+FFFD — which a string literal would then match
/// instead of the bytes written (<c>comm == "\xff\xfe"</c> is how to write those).
/// </summary>
public static class FilterText
{
    /// <summary>
    /// The text of <paramref name="bytes"/> (a UTF-8 byte order mark dropped) and null; or, when they are not
    /// UTF-8, the error at the first bad byte and the text with U+FFFD in its place, to show it in.
    /// </summary>
    public static (string Text, Diagnostic? Error) FromUtf8(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xef, 0xbb, 0xbf])) bytes = bytes[3..];
        if (Utf8.IsValid(bytes)) return (Encoding.UTF8.GetString(bytes), null);
        int bad = 0;
        while (System.Text.Rune.DecodeFromUtf8(bytes[bad..], out _, out int consumed) == System.Buffers.OperationStatus.Done) bad += consumed;
        int at = Encoding.UTF8.GetCharCount(bytes[..bad]);
        var error = new Diagnostic(DiagnosticCode.InvalidText, new TextSpan(at, at + 1),
            $"byte 0x{bytes[bad]:x2} is not UTF-8: a filter is UTF-8 text (write other bytes in a string as \\xHH)");
        return (Encoding.UTF8.GetString(bytes), error);
    }
}
