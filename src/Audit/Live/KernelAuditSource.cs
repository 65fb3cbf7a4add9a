using Filter.Audit.Pipeline;
using Filter.Kernel.Live;
using Filter.Kernel.Sys;
using Filter.VM;

namespace Filter.Audit.Live;

/// <summary>
/// The kernel source (spec/kernel.md): a verified filter runs in the kernel at every system call's exit
/// (<see cref="KernelTrace"/>), and the records it matches are committed to an <see cref="AuditPipeline"/>
/// through one <see cref="AuditContext"/>, with the call's return time in Unix milliseconds as timestamp (as
/// the other sources do). The kernel filter decides what leaves the kernel; each subscriber's own filter still
/// decides what it gets, so the kernel filter must match at least what the subscribers want (the union of
/// their filters, or one that is wider). Records the kernel matched but could not send (its ring buffer full)
/// are announced to every subscriber as upstream losses in the record-failed marker.
/// </summary>
/// <example><code>
/// var pipeline = new AuditPipeline();
/// var sub = pipeline.Subscribe("ids", filter);
/// var started = KernelAuditSource.Start(pipeline, kernelFilter);   // an error (not root, no BTF, refused) as data
/// var run = started.Value.RunAsync(cts.Token);                    // until cts is cancelled; then pipeline.Complete()
/// </code></example>
public sealed class KernelAuditSource : IDisposable
{
    private readonly AuditContext _context;
    private readonly KernelTrace _trace;
    private ulong _lostReported;
    private long _committed;

    private KernelAuditSource(AuditPipeline pipeline, KernelTrace trace)
    {
        Pipeline = pipeline;
        _trace = trace;
        _context = pipeline.CreateContext();
    }

    public AuditPipeline Pipeline { get; }

    /// <summary>Loads and attaches the kernel filter; the error (not root, no BPF or BTF, the verifier's refusal) as data.</summary>
    public static KernelResult<KernelAuditSource> Start(AuditPipeline pipeline, VerifiedProgram kernelFilter, KernelTraceOptions? options = null)
    {
        var trace = KernelTrace.Start(kernelFilter, options);
        if (!trace.Ok) return trace.Error!;
        return new KernelAuditSource(pipeline, trace.Value);
    }

    /// <summary>The kernel side's counts.</summary>
    public KernelTraceStats KernelStats => _trace.Stats;

    /// <summary>Records committed to the pipeline.</summary>
    public long Committed => Volatile.Read(ref _committed);

    /// <summary>Reads until cancelled, then drains what the kernel had sent.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        KernelEventHandler commit = (in KernelEvent e) =>
        {
            _context.CommitRecord(e.Bytes, e.Timestamp / 1_000_000);
            _committed++;
        };
        long nextLossCheck = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            _trace.Read(commit, 50);
            // The loss counter is a map lookup per CPU: read it a few times a second, not per batch.
            if (Environment.TickCount64 >= nextLossCheck)
            {
                ReportLosses();
                nextLossCheck = Environment.TickCount64 + 100;
            }
        }
        while (_trace.Read(commit, 0) > 0) { }
        ReportLosses();
    }

    public Task RunAsync(CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Run(cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void ReportLosses()
    {
        ulong lost = _trace.Stats.Lost;
        if (lost <= _lostReported) return;
        _context.ReportUpstreamLoss((long)(lost - _lostReported));
        _lostReported = lost;
    }

    public void Dispose() => _trace.Dispose();
}
