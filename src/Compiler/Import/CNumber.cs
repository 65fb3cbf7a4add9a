namespace Filter.Compiler.Import;

/// <summary>
/// auditctl reads rule values with C's <c>strtoul</c>/<c>strtol</c> in base 0: <c>0x</c> hex, a leading
/// <c>0</c> octal (<c>-F a2&amp;0100</c> is O_CREAT), else decimal, an optional sign; the kernel keeps the low
/// 32 bits (<c>struct audit_rule_data</c> <c>values[]</c> is <c>__u32</c>).
/// </summary>
internal static class CNumber
{
    /// <summary>
    /// Parses the whole of <paramref name="text"/> as a base-0 C integer (a trailing non-digit is refused,
    /// where strtoul would stop there silently). <paramref name="value"/> is the two's complement 64-bit value.
    /// </summary>
    public static bool TryParse(string text, out ulong value, out string? problem)
    {
        value = 0;
        problem = null;
        int i = 0;
        bool negative = false;
        if (i < text.Length && text[i] is '-' or '+') { negative = text[i] == '-'; i++; }
        int radix = 10;
        if (i + 1 < text.Length && text[i] == '0' && text[i + 1] is 'x' or 'X') { radix = 16; i += 2; }
        else if (i < text.Length && text[i] == '0' && i + 1 < text.Length) { radix = 8; i++; }
        if (i >= text.Length) { problem = $"'{text}' is not a number"; return false; }
        ulong magnitude = 0;
        for (; i < text.Length; i++)
        {
            int digit = char.IsAsciiDigit(text[i]) ? text[i] - '0'
                : char.IsAsciiHexDigit(text[i]) ? char.ToLowerInvariant(text[i]) - 'a' + 10 : 99;
            if (digit >= radix)
            {
                problem = $"'{text}' is not a {(radix == 8 ? "valid octal " : radix == 16 ? "hexadecimal " : "")}number" +
                          (radix == 8 ? " (a leading 0 means octal to auditctl)" : "");
                return false;
            }
            if (magnitude > (ulong.MaxValue - (ulong)digit) / (ulong)radix) { problem = $"'{text}' is out of range"; return false; }
            magnitude = magnitude * (ulong)radix + (ulong)digit;
        }
        value = negative ? unchecked(0 - magnitude) : magnitude;
        return true;
    }
}
