using Filter.Tests.Engines;
using Xunit;

namespace Filter.Tests.Conformance;

/// <summary>
/// Runs every vector in spec/conformance/*.tsv on every engine. A vector file is lines of
/// <c>filter TAB matching-record-numbers</c> (1-based lines of the records file its
/// <c># records: FILE</c> header names; empty when nothing matches).
/// </summary>
public class ConformanceTests
{
    public sealed record Vector(string File, int Line, string Filter, string RecordsFile, int[] Expected)
    {
        public override string ToString() => $"{File}:{Line}: {(Filter.Length > 60 ? Filter[..60] + "..." : Filter)}";
    }

    public static IEnumerable<Vector> LoadVectors()
    {
        foreach (var path in Directory.GetFiles(TestData.Conformance(""), "*.tsv").Order(StringComparer.Ordinal))
        {
            string records = "";
            var lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                var line = lines[i];
                if (line.StartsWith("# records:", StringComparison.Ordinal)) records = line["# records:".Length..].Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var parts = line.Split('\t');
                Assert.True(parts.Length == 2 && records.Length > 0, $"{path}:{i + 1}: malformed vector");
                var expected = parts[1].Length == 0 ? [] : parts[1].Split(',').Select(int.Parse).ToArray();
                yield return new Vector(System.IO.Path.GetFileName(path), i + 1, parts[0], records, expected);
            }
        }
    }

    public static IEnumerable<object[]> Vectors() => FilterEngines.Cross(LoadVectors().Select(v => new object[] { v }));

    private static readonly Dictionary<string, List<byte[]>> RecordCache = [];

    private static List<byte[]> Records(string file)
    {
        lock (RecordCache)
        {
            if (!RecordCache.TryGetValue(file, out var records))
                RecordCache[file] = records = TestData.ReadRecords(TestData.Conformance(file));
            return records;
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void EngineMatchesExactlyTheExpectedRecords(FilterEngine engine, Vector vector)
    {
        var run = engine.Prepare(TestPrograms.Compile(vector.Filter));
        var records = Records(vector.RecordsFile);
        var actual = Enumerable.Range(1, records.Count).Where(n => run(records[n - 1])).ToArray();
        Assert.Equal(vector.Expected, actual);
    }

    [Fact]
    public void ThereAreVectors() => Assert.True(LoadVectors().Count() >= 75);
}
