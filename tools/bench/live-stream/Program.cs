using System.Diagnostics;
using Filter.Audit.Live;
using Filter.Audit.Pipeline;
using Filter.Compiler;
using Filter.VM;

// The live path under load (bench/README.md, "Live stream"). A child `dd bs=1` copies /dev/zero to
// /dev/null one byte at a time (a read and a write syscall per byte); an exit rule of our own (key
// filter-live-bench-PID-RANDOM, pid = the child) makes the kernel audit every read and write of it. For
// each filter, for a fixed time, the live source reads the stream, the pipeline filters it, and every
// matching event is formatted as auditd text (to /dev/null). Printed per mode: events/s received,
// matched/s, our CPU per event, the kernel's lost counter and socket overruns. Root only; removes its rule.

double seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 2;
(string Name, string Filter)[] modes =
[
    ("no filter (every event printed)", "true"),
    ("filter, 1/2 printed", "syscall == read"),
    ("filter, none printed", "syscall == write && exit != 1"),
];
Console.WriteLine($"live-bench: {seconds} s per mode; load average {File.ReadAllText("/proc/loadavg").Trim()}");
Console.WriteLine($"{"mode",-32} {"events/s",10} {"matched/s",10} {"CPU us/ev",10} {"CPU %",6} {"k.lost",7} {"overruns",8}");
foreach (var (name, text) in modes)
{
    var program = FilterProgram.Compile(text).EnsureProgram();
    var pipeline = new AuditPipeline();
    var sub = pipeline.Subscribe("bench", RecordFilters.Create(program, EngineKind.Jit), 1 << 16);
    using var source = new NetlinkAuditSource(pipeline, new NetlinkAuditSourceOptions { KeepEvents = 1 << 18, Fields = program.FieldsRead });
    using var cts = new CancellationTokenSource();

    // The workload starts stopped, so the rule can name its pid before its first syscall.
    var dd = Process.Start("/bin/sh", ["-c", "kill -STOP $$; exec dd if=/dev/zero of=/dev/null bs=1 status=none"]);
    while (!File.ReadAllText($"/proc/{dd.Id}/stat").Split(' ')[2].StartsWith('T')) Thread.Sleep(1);
    string key = $"filter-live-bench-{Environment.ProcessId}-{Random.Shared.Next():x8}";
    var rule = new AuditRule(AuditArch.X86_64, [0, 1], key, [(AuditRule.FieldPid, (uint)dd.Id)]);
    using var control = AuditControl.Open();
    control.AddRule(rule);
    long matched = 0;
    TimeSpan cpu0, cpu1;
    Stopwatch clock;
    LiveSourceStats stats;
    try
    {
        var run = source.RunAsync(cts.Token);
        var consumer = Task.Run(async () =>
        {
            var sink = new BufferedStream(Stream.Null, 1 << 16);
            while (await sub.WaitToReadAsync())
                while (sub.TryRead(out var item))
                    if (item.Kind == AuditEventKind.Record)
                    {
                        matched++;
                        if (source.TryGetEvent(item.Serial, out var ev)) ev.WriteAuditd(sink);
                    }
        });
        cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        clock = Stopwatch.StartNew();
        Process.Start("kill", ["-CONT", dd.Id.ToString()]).WaitForExit();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        dd.Kill();
        dd.WaitForExit();
        clock.Stop();
        Thread.Sleep(500); // let the queued records arrive
        cts.Cancel();
        run.Wait();
        pipeline.Complete();
        consumer.Wait();
        cpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        stats = source.Stats;
    }
    finally
    {
        control.DeleteRule(rule);
        if (!dd.HasExited) dd.Kill();
    }
    double s = clock.Elapsed.TotalSeconds;
    double cpu = (cpu1 - cpu0).TotalSeconds;
    Console.WriteLine($"{name,-32} {stats.Events / s,10:N0} {matched / s,10:N0} {cpu * 1e6 / Math.Max(1, stats.Events),10:N1} {100 * cpu / s,6:N0} {stats.KernelLost,7} {stats.Overruns,8}");
}
