using Filter.Tests.Jit;
using Filter.VM;
using Xunit;

namespace Filter.Tests.Batch;

/// <summary>The batch layout is checked once, on construction: bad offsets are API misuse and throw.</summary>
public class RecordBatchTests
{
    private const int H = RecordLayout.HeaderSize;

    public static TheoryData<int, int[]> BadLayouts() => new()
    {
        { 4 * H, [-1, H] },                 // negative first offset
        { 4 * H, [0, H, H - 1] },           // decreasing
        { 4 * H, [0, H, 2 * H - 1] },       // a record shorter than the header
        { 4 * H, [0, 0] },                  // an empty record
        { 4 * H, [5, H + 4] },              // one byte short
        { 2 * H, [0, H, 2 * H + 1] },       // past the end of the buffer
        { 0, [0, H] },                      // empty buffer
        { 4 * H, [H, int.MinValue] },       // would overflow a naive difference
        { 4 * H, [0, int.MaxValue] },
    };

    [Theory]
    [MemberData(nameof(BadLayouts))]
    public void BadOffsetsThrowArgumentException(int bufferLength, int[] offsets)
    {
        var buffer = new byte[bufferLength];
        var e = Assert.Throws<ArgumentException>(() => { _ = new RecordBatch(buffer, offsets); });
        Assert.Equal("offsets", e.ParamName);
    }

    [Fact]
    public void GoodLayoutsGiveTheRecords()
    {
        var buffer = new byte[3 * H + 10];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (byte)i;
        var batch = new RecordBatch(buffer, [2, 2 + H, 2 + 3 * H]);
        Assert.Equal(2, batch.Count);
        Assert.Equal(buffer.AsSpan(2, H), batch[0].Bytes);
        Assert.Equal(buffer.AsSpan(2 + H, 2 * H), batch[1].Bytes);
        // A record may end exactly at the end of the buffer.
        Assert.Equal(1, new RecordBatch(buffer.AsSpan(0, H), [0, H]).Count);
    }

    [Fact]
    public void EmptyBatches()
    {
        Assert.Equal(0, new RecordBatch([], []).Count);
        Assert.Equal(0, new RecordBatch([], [0]).Count);
        Assert.Equal(0, new RecordBatch(new byte[10], [10]).Count);
        Assert.Equal(0, default(RecordBatch).Count);
        var program = JitTests.Assemble(".verdict 1 \"\"\nret #1\n");
        foreach (var engine in BatchCheck.Engines)
        {
            var filter = RecordFilters.Create(program, engine);
            Assert.Equal(0, filter.RunBatch(default, []));
            Assert.Equal(0, filter.MatchIndices(new RecordBatch([], [0]), []));
        }
    }

    [Fact]
    public void AnOutputSpanShorterThanTheBatchThrows()
    {
        var builder = new RecordBatchBuilder();
        builder.Add(new RecordBuilder());
        builder.Add(new RecordBuilder());
        var program = JitTests.Assemble(".verdict 1 \"\"\nret #1\n");
        foreach (var engine in BatchCheck.Engines)
        {
            var filter = RecordFilters.Create(program, engine);
            var verdicts = new uint[1];
            var e = Assert.Throws<ArgumentException>(() => filter.RunBatch(builder.Batch, verdicts));
            Assert.Equal("verdicts", e.ParamName);
            Assert.Equal(0u, verdicts[0]);
            var indices = new int[1];
            Assert.Equal("indices", Assert.Throws<ArgumentException>(() => filter.MatchIndices(builder.Batch, indices)).ParamName);
        }
    }

    [Fact]
    public void TheBuilderLaysRecordsBackToBackAndReusesItsBuffers()
    {
        var records = Enumerable.Range(0, 50).Select(i => JitTests.Rec((ulong)i, comm: "c" + i, exe: new string('x', i * 7))).ToList();
        var builder = new RecordBatchBuilder(recordCapacity: 0, byteCapacity: 0);
        foreach (var r in records) builder.Add(r);
        Assert.Equal(50, builder.Count);
        Assert.Equal(records.Sum(r => r.Length), builder.Length);
        var batch = builder.Batch;
        Assert.Equal(50, batch.Count);
        Assert.Equal(0, batch.Offsets[0]);
        for (int i = 0; i < records.Count; i++) Assert.Equal(records[i], batch[i].Bytes.ToArray());

        // Add(RecordBuilder) appends what Build() returns.
        var rb = new RecordBuilder();
        rb.SetU32(RecordLayout.Uid, 42);
        rb.SetExe("/tmp/x");
        builder.Clear();
        Assert.Equal(0, builder.Batch.Count);
        builder.Add(rb);
        Assert.Equal(rb.ToArray(), builder.Batch[0].Bytes.ToArray());

        // Once grown, refilling allocates nothing.
        builder.Clear();
        foreach (var r in records) builder.Add(r);
        Allocations.AssertNoneIn(() =>
        {
            builder.Clear();
            foreach (var r in records) builder.Add(r);
        }, "a refill");
    }

    [Fact]
    public void TheBuilderRejectsTornRecords()
    {
        var builder = new RecordBatchBuilder();
        Assert.Throws<ArgumentException>(() => builder.Add(new byte[H - 1]));
        Assert.Equal(0, builder.Count);
    }
}
