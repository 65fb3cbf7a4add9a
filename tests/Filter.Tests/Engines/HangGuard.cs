namespace Filter.Tests.Engines;

/// <summary>
/// How long a test waits for something that happens in milliseconds before it calls it a hang (a deadlock,
/// a lost wake-up, a child that never ends). Never a verdict on speed: far beyond what any load makes of a
/// correct run, so that no test's result depends on how busy the machine is.
/// </summary>
public static class HangGuard
{
    public static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    public static int Milliseconds => (int)Bound.TotalMilliseconds;
}
