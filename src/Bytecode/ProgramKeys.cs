namespace Filter.Bytecode;

/// <summary>
/// What a verdict's key may hold (spec/language.md, "Verdicts"): the one definition that the compiler
/// (FLT0304) and the verifier (FLT2016) both apply, so a program assembled by hand carries no key the
/// compiler would refuse. Keys are printed one per line after a tab (<c>filterc run --keys</c>), so a key
/// holds no control character — no newline, tab or terminal escape — except <c>\x01</c>, the kernel's
/// separator between the keys of one audit rule (AUDIT_KEY_SEPARATOR), which imported auditctl rules
/// need; and no unpaired surrogate, which has no UTF-8 form.
/// </summary>
public static class ProgramKeys
{
    /// <summary>The index of the first character <paramref name="key"/> may not hold, or -1.</summary>
    public static int FirstForbidden(string key)
    {
        for (int i = 0; i < key.Length; i++)
        {
            char c = key[i];
            if (char.IsControl(c) && c != '\x01') return i;
            if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1])) i++;
            else if (char.IsSurrogate(c)) return i;
        }
        return -1;
    }
}
