using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Filter.Tests.Spec;

/// <summary>
/// spec/ is the contract: its tables of instructions (bytecode.md) and record fields (record.md) are the code's
/// own tables, row for row, so that neither can change without the other.
/// </summary>
public partial class SpecTablesTests
{
    private static IEnumerable<string[]> Rows(string page, string header)
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "spec", page));
        int at = Array.FindIndex(lines, l => l.Trim() == header);
        Assert.True(at >= 0, $"spec/{page} has no table headed {header}");
        return lines.Skip(at + 2).TakeWhile(l => l.StartsWith('|'))
            .Select(l => l.Trim().Trim('|').Split(" | ").Select(c => c.Trim()).ToArray());
    }

    [Fact]
    public void TheInstructionTableIsTheSpecsTable()
    {
        var listed = new List<(OpCode Code, string Mnemonic)>();
        foreach (var row in Rows("bytecode.md", "| opcode | mnemonic | operands | semantics |"))
        {
            // "0x20/0x21" is an operation's K and X forms, in that order.
            var codes = row[0].Split('/').Select(c => (OpCode)byte.Parse(c[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
            string mnemonic = row[1].Trim('`');
            foreach (var code in codes) listed.Add((code, mnemonic));
            if (codes.Length == 2)
            {
                Assert.True(InstructionSet.Get(codes[0]).IsK, $"{row[0]}: the first is the K form");
                Assert.Equal(codes[1], InstructionSet.Get(codes[0]).Sibling);
            }
        }
        Assert.Equal(InstructionSet.All.Select(o => (o.Code, o.Mnemonic)).Order(), listed.Order());
    }

    [Fact]
    public void TheRecordLayoutIsTheSpecsTable()
    {
        var scalars = new List<(int Offset, int Size, string Name, string Type)>();
        var strings = new List<(int Offset, string Name, int Max)>();
        foreach (var row in Rows("record.md", "| offset | size | field | type | meaning |"))
        {
            if (row[2] == "—" || row[1] == "…") continue; // reserved bytes; the string bytes
            if (row[2].EndsWith("descriptor", StringComparison.Ordinal))
            {
                var max = MaxBytes().Match(row[4]);
                Assert.True(max.Success, $"record.md: the {row[2]} row gives no maximum length");
                strings.Add((int.Parse(row[0], CultureInfo.InvariantCulture), row[2].Split('`')[1], int.Parse(max.Groups[1].Value, CultureInfo.InvariantCulture)));
                continue;
            }
            // A row may stand for a run of like fields: "24..56 | 8 each | `a1` .. `a5`".
            var names = row[2].Split("..").Select(n => n.Trim().Trim('`')).ToArray();
            var offsets = row[0].Split("..").Select(o => int.Parse(o, CultureInfo.InvariantCulture)).ToArray();
            int size = int.Parse(row[1].Split(' ')[0], CultureInfo.InvariantCulture);
            string type = row[3].Replace("*", "").Split(' ')[0];
            if (names.Length == 1) scalars.Add((offsets[0], size, names[0], type));
            else
            {
                string prefix = names[0].TrimEnd("0123456789".ToCharArray());
                int first = int.Parse(names[0][prefix.Length..], CultureInfo.InvariantCulture), last = int.Parse(names[1][prefix.Length..], CultureInfo.InvariantCulture);
                for (int k = first; k <= last; k++) scalars.Add((offsets[0] + (k - first) * size, size, prefix + k, type));
                Assert.Equal(offsets[1], scalars[^1].Offset);
            }
        }
        Assert.Equal(RecordLayout.Scalars.Select(f => (f.Offset, f.Size, f.Name, TypeName(f))), scalars);
        Assert.Equal(RecordLayout.Strings.Select(s => (s.DescriptorOffset, s.Name, s.MaxLength)), strings);
    }

    private static string TypeName(ScalarField f) => f switch
    {
        { IsBoolean: true } => "bool",
        { Kind: FieldKind.U8 } => "u8",
        { Kind: FieldKind.U32 } => "u32",
        { Kind: FieldKind.U64 } => "u64",
        _ => "s64",
    };

    [GeneratedRegex(@"at most \*\*(\d+)\*\* bytes")]
    private static partial Regex MaxBytes();
}
