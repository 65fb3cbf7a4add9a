using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;

namespace Filter.Tests.Kernel;

/// <summary>
/// The random kernel tests are reproducible: they start from a fixed seed unless <c>FILTER_KERNEL_SEED</c>
/// names another, either a number or the replay FsCheck prints with a failure (<c>(seed,gamma,size)</c>);
/// <c>FILTER_KERNEL_LONG=1</c> is the long mode (many more cases; the counts' own variables still win).
/// </summary>
internal static class KernelRandom
{
    private const ulong DefaultSeed = 20261126;

    /// <summary>The golden gamma FsCheck's <see cref="Rnd(ulong)"/> uses.</summary>
    private const ulong DefaultGamma = 0x9e3779b97f4a7c15;

    public static bool Long => Environment.GetEnvironmentVariable("FILTER_KERNEL_LONG") is "1" or "true";

    /// <summary>The count in <paramref name="variable"/> if set, else <paramref name="longMode"/> in the long mode, else <paramref name="normal"/>.</summary>
    public static int Count(string variable, int normal, int longMode) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out int n) ? n : Long ? longMode : normal;

    /// <summary>What the run starts from, as a replay (printed by the tests, so that a run can be repeated).</summary>
    public static string Seed => Environment.GetEnvironmentVariable("FILTER_KERNEL_SEED") is { Length: > 0 } s ? s.Trim() : DefaultSeed.ToString(CultureInfo.InvariantCulture);

    /// <summary>A replay of one case (FsCheck's (seed,gamma,size)): the run is that one case only.</summary>
    public static bool ReplaysOneCase => Parse(Seed).Size is not null;

    public static Config Config(int tests, int salt)
    {
        var (seed, gamma, size) = Parse(Seed);
        // Each test salts the seed, so that two tests of one run do not draw the same cases; a replay is exact.
        if (size is null) seed ^= (ulong)salt * DefaultGamma;
        var replay = new Replay(new Rnd(seed, gamma), size is { } n ? FSharpOption<int>.Some(n) : FSharpOption<int>.None);
        return FsCheck.Config.QuickThrowOnFailure.WithMaxTest(tests).WithReplay(replay);
    }

    /// <summary><paramref name="count"/> values of <paramref name="gen"/> drawn from the run's seed (salted per use).</summary>
    public static T[] Sample<T>(Gen<T> gen, int count, int salt)
    {
        var (seed, gamma, _) = Parse(Seed);
        return [.. Gen.Sample(gen, 50, new Rnd(seed ^ (ulong)salt * DefaultGamma, gamma), count)];
    }

    private static (ulong Seed, ulong Gamma, int? Size) Parse(string text)
    {
        var parts = text.Trim('(', ')', ' ').Split(',', StringSplitOptions.TrimEntries);
        ulong U(string p) => ulong.Parse(p, CultureInfo.InvariantCulture);
        return parts.Length switch
        {
            1 => (U(parts[0]), DefaultGamma, null),
            2 => (U(parts[0]), U(parts[1]), null),
            3 => (U(parts[0]), U(parts[1]), int.Parse(parts[2], CultureInfo.InvariantCulture)),
            _ => throw new FormatException($"FILTER_KERNEL_SEED: '{text}' is neither a number nor (seed,gamma,size)"),
        };
    }
}
