using System.Buffers;
using Filter.Audit.Formats;
using Filter.VM;
using Microsoft.Win32.SafeHandles;

namespace Filter.Cli;

/// <summary>
/// How <c>run</c> may split one large auditd file into chunks run in parallel (<c>--threads</c>).
/// </summary>
/// <param name="Threads">Workers (at least 2).</param>
/// <param name="NewSink">A sink like the run's, writing to another output: each chunk's, in memory.</param>
/// <param name="FixedChunkBytes">The chunk size asked for (tests: <c>--chunk-bytes</c>), or null to choose it by the file.</param>
/// <param name="SmallOutput">Whether the sink writes little per event (<c>--count</c>, <c>--keys</c>): a chunk's output held in memory stays small.</param>
/// <param name="MinFileBytes">Smaller files are run sequentially: there it does not pay.</param>
internal sealed record Parallelism(int Threads, Func<MatchOutput, MatchSink> NewSink, long? FixedChunkBytes, bool SmallOutput, long MinFileBytes)
{
    /// <summary>
    /// Chunks of a run that prints events: small enough that (workers + 2) of them held in memory stay
    /// small and the output streams.
    /// </summary>
    public const long DefaultChunkBytes = 8 << 20;

    /// <summary>
    /// The largest chunk of a run that prints little. Each chunk costs a reader, a filter and the overlap
    /// past its end (about 0.2 ms); a quarter of the file per worker keeps the workers' last chunks even.
    /// 200 MB counted on 2 cores: 25 MB chunks took 6-11% less CPU and 6-8% less wall time than 8 MB ones
    /// (bench/README.md, "run in parallel chunks").
    /// </summary>
    public const long MaxChunkBytes = 32 << 20;

    /// <summary>
    /// Below this a run takes a few tens of milliseconds and starting threads and reading the overlaps
    /// costs as much as it saves (measured: tools/bench/compare-threads.sh, bench/README.md).
    /// </summary>
    public const long DefaultMinFileBytes = 32 << 20;

    /// <summary>The plan for <paramref name="threads"/> workers; <paramref name="chunkBytes"/> (tests) also lifts the size threshold.</summary>
    public static Parallelism For(int threads, Func<MatchOutput, MatchSink> newSink, bool smallOutput, long? chunkBytes) =>
        new(threads, newSink, chunkBytes, smallOutput, chunkBytes is null ? DefaultMinFileBytes : 0);

    /// <summary>The nominal chunk size for a file of <paramref name="length"/> bytes.</summary>
    public long ChunkBytesFor(long length) =>
        FixedChunkBytes ?? (SmallOutput ? Math.Clamp(length / (4 * Threads), DefaultChunkBytes, MaxChunkBytes) : DefaultChunkBytes);
}

/// <summary>
/// One regular, uncompressed auditd file decoded and filtered in parallel chunks whose results are re-joined
/// in order, so that stdout, stderr and the exit code are the sequential run's, byte for byte
/// (spec/auditd.md, "Parallel runs"). Each chunk's worker starts a fresh reader at a line start, runs on past
/// the chunk's end to its first idle point (<see cref="AuditdReader.Idle"/>) and records its first few idle
/// points. The merge knows where the sequential reader is idle (the previous chunk's stop) and, when the
/// worker was idle there too, takes the worker's results from there; otherwise (not found, an EOE record,
/// any error) it reads that part itself, sequentially, straight into the real sink.
/// </summary>
internal sealed class ParallelRun
{
    // Idle points recorded per chunk: the previous worker's stop is normally within an event or two of the start.
    private const int MaxPoints = 64;
    private const long MaxPointsSpan = 1 << 20;

    private readonly Matcher _matcher;
    private readonly Parallelism _plan;
    private readonly RunInput _input;
    private readonly FileStream _file;
    private readonly Chunk[] _chunks;
    private readonly CancellationTokenSource _stop = new();

    private readonly long _chunkBytes;

    private ParallelRun(Matcher matcher, Parallelism plan, RunInput input, FileStream file, long chunkBytes, Chunk[] chunks) =>
        (_matcher, _plan, _input, _file, _chunkBytes, _chunks) = (matcher, plan, input, file, chunkBytes, chunks);

    /// <summary>
    /// The parallel run of <paramref name="inputs"/> (one log's inputs), or null where it does not apply:
    /// not exactly one input, or not a regular uncompressed file of at least the threshold size, or a
    /// matcher that may change its filter between events.
    /// </summary>
    public static ParallelRun? Open(Matcher matcher, IReadOnlyList<RunInput> inputs)
    {
        if (matcher.Parallel is not { } plan || matcher.BetweenEvents is not null || !matcher.FieldsOfFilterOnly
            || inputs is not [{ Format: InputFormat.Auditd, Streaming: null, Content.Compressed: false } input]
            || input.Name == RunInputs.StdinName)
            return null;
        FileStream file;
        try
        {
            file = new FileStream(input.Name, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.RandomAccess);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // it was opened a moment ago: the sequential run reads that one
        }
        Chunk[]? chunks = null;
        long chunkBytes = 0;
        try
        {
            long length = file.CanSeek ? file.Length : 0; // pipes and devices are not chunked
            chunkBytes = plan.ChunkBytesFor(length);
            if (length >= Math.Max(1, plan.MinFileBytes)) chunks = Cut(file.SafeFileHandle, length, chunkBytes);
        }
        catch (IOException)
        {
            // The sequential run reads it, and reports what it cannot read as it always does.
        }
        if (chunks is not { Length: > 1 })
        {
            file.Dispose();
            return null;
        }
        return new ParallelRun(matcher, plan, input, file, chunkBytes, chunks);
    }

    /// <summary>Chunks of <paramref name="chunkBytes"/> or a little more: each cut moved on to a line start.</summary>
    private static Chunk[] Cut(SafeFileHandle file, long length, long chunkBytes)
    {
        var starts = new List<long> { 0 };
        var buffer = new byte[4096];
        while (starts[^1] + chunkBytes < length)
        {
            // The line start after the '\n' at or after the byte before the cut: a cut at a line start stays there.
            long at = starts[^1] + chunkBytes - 1, start = -1;
            while (start < 0 && RandomAccess.Read(file, buffer, at) is > 0 and var n)
            {
                int newline = buffer.AsSpan(0, n).IndexOf((byte)'\n');
                if (newline >= 0) start = at + newline + 1;
                else at += n;
            }
            if (start < 0 || start >= length) break;
            starts.Add(start);
        }
        var chunks = new Chunk[starts.Count];
        for (int k = 0; k < chunks.Length; k++) chunks[k] = new Chunk(starts[k], k + 1 < starts.Count ? starts[k + 1] : length);
        return chunks;
    }

    /// <summary>
    /// Runs the chunks on the workers and merges them in order on this thread: the exit code and error of
    /// the sequential run, whose output, warnings and skipped lines have gone where it would put them.
    /// </summary>
    public (int, Diagnostic?) Run()
    {
        using var file = _file;
        using var content = _input.Content;
        using var slots = new SemaphoreSlim(_plan.Threads + 2);
        int next = -1;
        var workers = new Thread[Math.Min(_plan.Threads, _chunks.Length)];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(() =>
            {
                var filter = RecordFilters.Create(_matcher.Filter.Program, _matcher.Filter.Engine);
                var events = new AuditdReaderPool();
                try
                {
                    while (true)
                    {
                        slots.Wait(_stop.Token);
                        int k = Interlocked.Increment(ref next);
                        if (k >= _chunks.Length) return;
                        try { Work(_chunks[k], filter, events); }
                        finally { _chunks[k].Done.Set(); }
                    }
                }
                catch (OperationCanceledException) { }
            }) { IsBackground = true, Name = $"filterc chunk worker {w}" };
            workers[w].Start();
        }
        try
        {
            return Merge(slots);
        }
        finally
        {
            _stop.Cancel();
            foreach (var worker in workers) worker.Join();
            foreach (var chunk in _chunks) chunk.Done.Dispose();
            _stop.Dispose();
        }
    }

    // ---- Workers ----------------------------------------------------------------------------------------

    private sealed class Chunk(long start, long end)
    {
        public readonly long Start = start, End = end;
        public readonly ManualResetEventSlim Done = new(false, spinCount: 1);
        public readonly List<IdlePoint> Points = [];
        public ChunkOutput? Output;
        // Whether the worker stopped at an idle point (Stop) with no error and no EOE record.
        public bool Usable;
        public long Stop, Lines, Matches, PastItems, EndedCount;
        public AuditdEventId[] EndedIds = [];
    }

    /// <summary>Where a worker was idle, and its results up to there.</summary>
    private readonly record struct IdlePoint(long Offset, long Lines, int OutputLength, long Matches, long PastItems, long Ended);

    private void Work(Chunk chunk, IRecordFilter filter, AuditdReaderPool events)
    {
        var output = new ChunkOutput();
        var sink = _plan.NewSink(output);
        // A chunk after the first starts past line 1: its first line keeps a byte order mark, as it does sequentially.
        using var reader = _matcher.OpenReader([new AuditdSource(_input.Name, () => new ChunkStream(_file.SafeFileHandle, chunk.Start))],
            chunk.Start == 0 ? 1 : 2, pool: events);
        // Past this without an idle point, the merge reads on itself rather than hold ever more output here.
        long giveUpAt = chunk.End + Math.Max(_chunkBytes, 16 << 20);
        long matches = 0;
        chunk.Points.Add(new IdlePoint(chunk.Start, 0, 0, 0, 0, 0));
        while (!_stop.IsCancellationRequested)
        {
            var result = reader.Read();
            if (result == ReadResult.Error || reader.SawEoe) break;
            if (result == ReadResult.End)
            {
                chunk.Stop = chunk.Start + reader.Position;
                chunk.Usable = true;
                break;
            }
            if (_matcher.Verdict(filter, reader) is not 0 and var verdict)
            {
                sink.Event(reader, _matcher.Key(verdict));
                matches++;
            }
            long at = chunk.Start + reader.Position;
            if (!reader.Idle)
            {
                if (at > giveUpAt) break;
                continue;
            }
            if (at >= chunk.End)
            {
                chunk.Stop = at;
                chunk.Usable = true;
                break;
            }
            if (chunk.Points.Count < MaxPoints && at - chunk.Start <= MaxPointsSpan)
                chunk.Points.Add(new IdlePoint(at, reader.LinesRead, output.Length, matches, reader.EventsPastPathItems, reader.EndedCount));
        }
        (chunk.Output, chunk.Lines, chunk.Matches, chunk.PastItems) = (output, reader.LinesRead, matches, reader.EventsPastPathItems);
        (chunk.EndedIds, chunk.EndedCount) = (reader.EndedIds, reader.EndedCount);
    }

    // ---- Merging ----------------------------------------------------------------------------------------

    private (int, Diagnostic?) Merge(SemaphoreSlim slots)
    {
        var sink = _matcher.Sink;
        // The sequential reader is idle at `at`, after `lines` lines and the events `ended` (EndedIds).
        long at = 0, lines = 0, pastItems = 0;
        AuditdEventId[] ended = [];
        foreach (var chunk in _chunks)
        {
            chunk.Done.Wait();
            if (at < chunk.End)
            {
                if (chunk.Usable && chunk.Points.FindIndex(p => p.Offset == at) is >= 0 and var found)
                {
                    var point = chunk.Points[found];
                    chunk.Output!.CopyTo(sink.Output, point.OutputLength);
                    if (sink is MatchSink.Count count) count.Add(chunk.Matches - point.Matches);
                    (at, lines, pastItems) = (chunk.Stop, lines + chunk.Lines - point.Lines, pastItems + chunk.PastItems - point.PastItems);
                    // The events ended after the point, and before them the ones ended before it.
                    var since = chunk.EndedIds[^(int)Math.Min(chunk.EndedIds.Length, chunk.EndedCount - point.Ended)..];
                    ended = [.. ended.Concat(since).TakeLast(AuditdReader.EndedIdsKept)];
                }
                else
                {
                    var (code, error) = Sequential(chunk.End, ref at, ref lines, ref pastItems, ref ended);
                    if (code != CliIO.Ok) return (code, error);
                }
            }
            chunk.Output?.Dispose();
            chunk.Output = null;
            chunk.Points.Clear();
            slots.Release();
            if (sink.Output.Error is not null) break;
        }
        _matcher.WarnPastPathItems(pastItems);
        return (CliIO.Ok, null);
    }

    /// <summary>
    /// Reads from the idle point <paramref name="at"/> (after <paramref name="lines"/> lines) to the first
    /// idle point at or after <paramref name="end"/>, or the end, as the sequential run does: into the real
    /// sink, errors stopping or skipped (--lenient) as they would be there.
    /// </summary>
    private (int, Diagnostic?) Sequential(long end, ref long at, ref long lines, ref long pastItems, ref AuditdEventId[] ended)
    {
        var sink = _matcher.Sink;
        long from = at;
        using var reader = _matcher.OpenReader([new AuditdSource(_input.Name, () => new ChunkStream(_file.SafeFileHandle, from))], lines + 1, ended);
        try
        {
            while (sink.Output.Error is null)
            {
                var result = reader.Read();
                if (result == ReadResult.End) break;
                if (result == ReadResult.Error)
                {
                    if (!_matcher.Skip(reader.Error!)) return (CliIO.InputError, reader.Error);
                    continue;
                }
                if (_matcher.Verdict(_matcher.Filter, reader) is not 0 and var verdict) sink.Event(reader, _matcher.Key(verdict));
                if (reader.Idle && from + reader.Position >= end) break;
            }
            return (CliIO.Ok, null);
        }
        finally
        {
            (at, lines, pastItems, ended) = (from + reader.Position, lines + reader.LinesRead, pastItems + reader.EventsPastPathItems, reader.EndedIds);
        }
    }

    /// <summary>The file from <paramref name="offset"/> on, read by position (no shared file position).</summary>
    private sealed class ChunkStream(SafeFileHandle file, long offset) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            int n = RandomAccess.Read(file, buffer, offset);
            offset += n;
            return n;
        }
    }

    /// <summary>
    /// A chunk's output, kept in memory until the merge copies it to the real output: in pooled
    /// segments that lines never straddle (growing one array by copying was most of a printing run's cost).
    /// </summary>
    private sealed class ChunkOutput : MatchOutput
    {
        // The first segment small: a run that prints little (--count, --keys) then touches a few pages per
        // chunk, not a megabyte's (on these VMs 11 us a page).
        private const int FirstSegmentBytes = 16 << 10, SegmentBytes = 1 << 20;
        private readonly List<byte[]> _segments = [];
        private readonly List<int> _ends = [];

        /// <summary>Bytes written so far: a position <see cref="CopyTo"/> takes.</summary>
        public int Length { get; private set; }

        public override void Line(ReadOnlySpan<byte> line)
        {
            if (_segments.Count == 0 || _segments[^1].Length - _ends[^1] < line.Length + 1)
            {
                _segments.Add(ArrayPool<byte>.Shared.Rent(Math.Max(_segments.Count == 0 ? FirstSegmentBytes : SegmentBytes, line.Length + 1)));
                _ends.Add(0);
            }
            var segment = _segments[^1].AsSpan(_ends[^1]);
            line.CopyTo(segment);
            segment[line.Length] = (byte)'\n';
            _ends[^1] += line.Length + 1;
            Length += line.Length + 1;
        }

        public override void Flush() { }

        /// <summary>Writes the lines from byte <paramref name="from"/> (a line start) on to <paramref name="to"/>, a segment at a time.</summary>
        public void CopyTo(MatchOutput to, int from)
        {
            for (int i = 0; i < _segments.Count; i++)
            {
                var rest = _segments[i].AsSpan(0, _ends[i]);
                if (from >= rest.Length)
                {
                    from -= rest.Length;
                    continue;
                }
                to.Lines(rest[from..]);
                from = 0;
            }
        }

        public override void Dispose()
        {
            foreach (var segment in _segments) ArrayPool<byte>.Shared.Return(segment);
            _segments.Clear();
            _ends.Clear();
        }
    }
}
