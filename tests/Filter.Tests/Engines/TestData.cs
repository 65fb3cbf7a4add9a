using Filter.Audit.Formats;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Engines;

/// <summary>Locates test data copied to the output directory and reads record files.</summary>
public static class TestData
{
    public static string Path(params string[] parts) => System.IO.Path.Combine([AppContext.BaseDirectory, .. parts]);

    public static string Conformance(string file) => Path("conformance", file);

    /// <summary>Every record of a JSON-lines file, as record bytes (fails the test on any bad line).</summary>
    public static List<byte[]> ReadRecords(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new JsonLinesReader(stream, path);
        var builder = new RecordBuilder();
        var records = new List<byte[]>();
        ReadResult r;
        while ((r = reader.Read(builder)) != ReadResult.End)
        {
            Assert.True(r == ReadResult.Record, reader.Error?.Render());
            records.Add(builder.ToArray());
        }
        return records;
    }
}
