using Filter.VM;
using Xunit;
using FRecord = Filter.Bytecode.Record;

namespace Filter.Tests.Jit;

/// <summary>
/// <c>jswitch</c> by hand, in every form the engines give it: the interpreter's table of targets (fused with
/// the load or not) and its search, the JIT's IL switch and its compare trees (unsigned and signed); cases
/// that are <c>ret</c>s and cases that are <c>ja</c>s. Each value at and around every range bound goes to
/// exactly the case <see cref="ValueSet.IndexOf"/> names, or to the default.
/// </summary>
public class JswitchTests
{
    private const string Verdicts = ".verdict 1 \"\"\n.verdict 2 \"\"\n.verdict 3 \"\"\n.verdict 4 \"\"\n";

    public static TheoryData<string, string> Sets() => new()
    {
        { "table", ".set 0 unsigned 0, 5..9, 63, 4095" },
        { "tree", ".set 0 unsigned 56..60, 231, 0xffffffff..0x100000000, 0xfffffffffffffff0..0xffffffffffffffff" },
        { "signed tree", ".set 0 signed -5..-1, 3, 9..12, 0x7fffffffffffffff" },
    };

    /// <summary>The four shapes: ret cases with the load fused, the register read in a case, ja cases to shared rets, a loaded field.</summary>
    private static IEnumerable<(string Shape, string Code)> Programs(string set) =>
    [
        ("ret cases", $"{Verdicts}{set}\nlddw r0, [a0]\njswitch r0, set0 jt 2 jf 6\nret #1\nret #2\nret #3\nret #4\nret #0"),
        ("register read in a case", $"{Verdicts}{set}\nlddw r0, [a0]\njswitch r0, set0 jt 2 jf 6\nja 6\nret #2\nret #3\nret #4\njeq r0, #0 jt 7 jf 8\nret #1\nret #0"),
        ("ja cases", $"{Verdicts}{set}\nlddw r1, [a1]\nlddw r0, [a0]\njswitch r0, set0 jt 3 jf 7\nja 11\nja 10\nja 9\nja 9\njeq r1, #7 jt 8 jf 12\nret #4\nret #3\nret #2\nret #1\nret #0"),
    ];

    [Theory]
    [MemberData(nameof(Sets))]
    public void EveryValueGoesToItsCase(string kind, string setText)
    {
        foreach (var (shape, text) in Programs(setText))
        {
            var program = JitTests.Assemble(text);
            var set = program.Image.Sets[0];
            var jit = Filter.VM.Jit.Compile(program);
            var values = set.Ranges.SelectMany(r => new[] { r.Lo - 1, r.Lo, r.Lo + 1, r.Hi - 1, r.Hi, r.Hi + 1 }).Concat(JitTests.Extremes).Distinct();
            foreach (ulong v in values)
            {
                var record = JitTests.Rec(v, 7);
                int c = set.IndexOf(v);
                uint expected = Expected(shape, c, v);
                Assert.True(expected == Interpreter.Run(program, new FRecord(record)), $"{kind}, {shape}: interpreter on {v:x}");
                Assert.True(expected == jit.Run(new FRecord(record)), $"{kind}, {shape}: jit on {v:x}");
            }
        }
    }

    private static uint Expected(string shape, int c, ulong v) => shape switch
    {
        // Cases 0..3 return 1..4; the default 0.
        "ret cases" => c < 0 ? 0u : (uint)c + 1,
        // Case 0 and the default test r0 == 0 (1 if so, else 0); cases 1..3 return 2..4.
        "register read in a case" => c is < 0 or 0 ? (v == 0 ? 1u : 0u) : (uint)c + 1,
        // Cases 0..3 go to ret #1, #2, #3, #3; the default tests a1 == 7 (4).
        _ => c switch { < 0 => 4u, 0 => 1u, 1 => 2u, _ => 3u },
    };
}
