namespace Filter.Compiler.Binding;

/// <summary>"Did you mean" suggestions: the closest candidate by edit distance, if close enough to be a typo.</summary>
public static class Spelling
{
    public static string? Nearest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        (int Distance, int OtherStart) bestKey = (int.MaxValue, 1);
        int limit = Math.Max(2, name.Length / 3);
        foreach (var c in candidates)
        {
            if (Math.Abs(c.Length - name.Length) > limit) continue;
            // Ties go to a candidate with the name's first letter (typos rarely hit it: 'usr' is 'uid', not 'dir'),
            // then to the first in ordinal order.
            var key = (Distance(name.ToLowerInvariant(), c.ToLowerInvariant()), SameStart(c, name) ? 0 : 1);
            if (key.CompareTo(bestKey) < 0 || (key == bestKey && string.CompareOrdinal(c, best) < 0))
            {
                best = c;
                bestKey = key;
            }
        }
        return bestKey.Distance <= limit ? best : null;
    }

    private static bool SameStart(string a, string b) => a.Length > 0 && b.Length > 0 && char.ToLowerInvariant(a[0]) == char.ToLowerInvariant(b[0]);

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
