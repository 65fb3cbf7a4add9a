using Filter.VM;
using Xunit;

namespace Filter.Tests.Batch;

/// <summary>
/// The batch entry points against per-record <see cref="IRecordFilter.Run"/>, on both engines: every
/// verdict, the match count, the match indices, and nothing written past the batch.
/// </summary>
public static class BatchCheck
{
    public static readonly EngineKind[] Engines = [EngineKind.Interpreter, EngineKind.Jit];

    private const uint Sentinel = 0xDEADBEEF;

    /// <summary>
    /// The records in one buffer, after <paramref name="lead"/> junk bytes (so records start at odd
    /// addresses) and followed by junk: offsets as a reader would hand them over.
    /// </summary>
    public static (byte[] Buffer, int[] Offsets) Lay(IReadOnlyList<byte[]> records, int lead = 3)
    {
        var offsets = new int[records.Count + 1];
        int at = lead;
        for (int i = 0; i < records.Count; i++) { offsets[i] = at; at += records[i].Length; }
        offsets[records.Count] = at;
        var buffer = new byte[at + 7];
        Array.Fill(buffer, (byte)0xA5);
        for (int i = 0; i < records.Count; i++) records[i].CopyTo(buffer, offsets[i]);
        return (buffer, offsets);
    }

    /// <summary>
    /// Asserts that RunBatch and MatchIndices give, on both engines, exactly the per-record verdicts of
    /// that engine and of the interpreter; returns the verdicts.
    /// </summary>
    public static uint[] Agree(VerifiedProgram program, IReadOnlyList<byte[]> records, string what = "")
    {
        var expected = records.Select(r => Interpreter.Run(program, new Record(r))).ToArray();
        var (buffer, offsets) = Lay(records);
        var builder = new RecordBatchBuilder(recordCapacity: 1, byteCapacity: 1);
        foreach (var r in records) builder.Add(r);
        foreach (var engine in Engines)
        {
            var filter = RecordFilters.Create(program, engine);
            // The JIT column must be compiled code, not a fallback to the interpreter.
            if (engine == EngineKind.Jit) Assert.True(filter is JitFilter && filter.Engine == EngineKind.Jit, "the JIT engine did not compile");
            string where = $"{engine} {what}\n{Disassembler.Disassemble(program.Image)}";
            for (int i = 0; i < records.Count; i++)
                Assert.True(expected[i] == filter.Run(new Record(records[i])), $"record {i}: Run {filter.Run(new Record(records[i]))}, interpreter {expected[i]} ({where})");
            Check(filter, new RecordBatch(buffer, offsets), expected, where);
            Check(filter, builder.Batch, expected, where);
        }
        return expected;
    }

    private static void Check(IRecordFilter filter, RecordBatch batch, uint[] expected, string where)
    {
        int n = expected.Length;
        var verdicts = new uint[n + 2];
        Array.Fill(verdicts, Sentinel);
        int matches = filter.RunBatch(batch, verdicts);
        for (int i = 0; i < n; i++)
            Assert.True(expected[i] == verdicts[i], $"record {i}: RunBatch {verdicts[i]}, Run {expected[i]} ({where})");
        Assert.Equal(Sentinel, verdicts[n]);
        Assert.Equal(Sentinel, verdicts[n + 1]);
        Assert.Equal(expected.Count(v => v != 0), matches);

        var indices = new int[n + 1];
        Array.Fill(indices, -7);
        int found = filter.MatchIndices(batch, indices);
        Assert.Equal(Enumerable.Range(0, n).Where(i => expected[i] != 0), indices[..found]);
        Assert.All(indices[found..], v => Assert.Equal(-7, v));
    }
}
