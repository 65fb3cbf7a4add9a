using System.Globalization;
using System.Text;
using System.Text.Json;
using Filter.Audit.Formats;
using Filter.Audit.Output;
using Filter.Compiler.Tools;

namespace Filter.Cli;

/// <summary>What is done with each match: printed (raw, interpreted, JSON), its key printed, counted, or reported.</summary>
internal abstract class MatchSink(MatchOutput output)
{
    public MatchOutput Output => output;

    /// <summary>An event of an auditd log matched with <paramref name="key"/> (its rule's key; "" for none).</summary>
    public abstract void Event(AuditdReader reader, string key);

    /// <summary>A JSON-lines record matched: its line, line number and record.</summary>
    public abstract void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key);

    /// <summary>After the last input: what is printed at the end (a count, a report).</summary>
    public virtual void End() { }

    protected static IEnumerable<ReadOnlyMemory<byte>> Lines(AuditdReader reader)
    {
        for (int i = 0; i < reader.LineCount; i++) yield return reader.GetLine(i).ToArray();
    }

    /// <summary>
    /// The input as it is, line for line (like grep). On a terminal the ENRICHED separator (\x1d, which a
    /// terminal does not show) is printed as a space, so the interpreted fields do not run into the kernel's.
    /// </summary>
    public sealed class Raw(MatchOutput output, bool terminal) : MatchSink(output)
    {
        private byte[] _copy = new byte[256];

        public override void Event(AuditdReader reader, string key)
        {
            for (int i = 0; i < reader.LineCount; i++) Line(reader.GetLine(i));
        }

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key) => Line(line);

        private void Line(ReadOnlySpan<byte> line)
        {
            if (!terminal || line.IndexOf((byte)0x1d) < 0)
            {
                Output.Line(line);
                return;
            }
            if (_copy.Length < line.Length) _copy = new byte[line.Length];
            var copy = _copy.AsSpan(0, line.Length);
            line.CopyTo(copy);
            copy.Replace((byte)0x1d, (byte)' ');
            Output.Line(copy);
        }
    }

    /// <summary>As ausearch -i prints events (<see cref="InterpretedText"/>).</summary>
    public sealed class Interpreted(MatchOutput output) : MatchSink(output)
    {
        private readonly StringBuilder _text = new();

        public override void Event(AuditdReader reader, string key)
        {
            _text.Clear();
            InterpretedText.AppendEvent(_text, Lines(reader));
            Print();
        }

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key)
        {
            var text = AuditdRecordText.FromRecord(record);
            _text.Clear().Append(InterpretedText.EventSeparator).Append('\n');
            _text.Append(CultureInfo.InvariantCulture, $"type={text.Type} line={lineNumber} :");
            foreach (var field in text.Fields) _text.Append(' ').Append(field.Name).Append('=').Append(PrintableText.Escape(Interpretation.Value(text, field)));
            _text.Append('\n');
            Print();
        }

        private void Print()
        {
            foreach (var line in _text.ToString().AsSpan().TrimEnd('\n').EnumerateLines()) Output.Line(line.ToString());
        }
    }

    /// <summary>One JSON object per line: an event (<see cref="EventJson"/>), or a record as tail and trace write it.</summary>
    public sealed class Json : MatchSink
    {
        private readonly MemoryStream _buffer = new();
        private readonly Utf8JsonWriter _writer;

        public Json(MatchOutput output) : base(output) => _writer = new Utf8JsonWriter(_buffer);

        public override void Event(AuditdReader reader, string key)
        {
            Begin();
            EventJson.Write(_writer, reader.EventId, Lines(reader), key);
            Finish();
        }

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key)
        {
            Begin();
            RecordJson.Write(_writer, record);
            Finish();
        }

        private void Begin()
        {
            _buffer.SetLength(0);
            _writer.Reset(_buffer);
        }

        private void Finish()
        {
            _writer.Flush();
            Output.Line(_buffer.GetBuffer().AsSpan(0, (int)_buffer.Length));
        }
    }

    /// <summary>SERIAL (auditd) or line number (JSON lines), a tab, and the key, escaped onto its line (spec/auditd.md, "Keys").</summary>
    public sealed class Keys(MatchOutput output) : MatchSink(output)
    {
        public override void Event(AuditdReader reader, string key) => Print(reader.EventId.Serial, key);

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key) => Print((ulong)lineNumber, key);

        private void Print(ulong serial, string key) => Output.Line(string.Create(CultureInfo.InvariantCulture, $"{serial}\t{PrintableText.Escape(key)}"));
    }

    /// <summary>The number of matches, at the end.</summary>
    public sealed class Count(MatchOutput output) : MatchSink(output)
    {
        private long _count;

        public override void Event(AuditdReader reader, string key) => _count++;

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key) => _count++;

        /// <summary>Adds matches counted elsewhere (the chunks of a parallel run).</summary>
        public void Add(long matches) => _count += matches;

        public override void End() => Output.Line(_count.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Counts per field, at the end (<see cref="EventReport"/>), as text or JSON.</summary>
    public sealed class Report(MatchOutput output, EventReport report, bool json) : MatchSink(output)
    {
        public override void Event(AuditdReader reader, string key)
        {
            var records = new List<AuditdRecordText>(reader.LineCount);
            for (int i = 0; i < reader.LineCount; i++)
                if (AuditdRecordText.Parse(reader.GetLine(i)) is { } record) records.Add(record);
            report.Add(records, key);
        }

        public override void Record(ReadOnlySpan<byte> line, long lineNumber, Record record, string key) =>
            report.Add([AuditdRecordText.FromRecord(record)], key);

        public override void End()
        {
            if (json)
            {
                using var buffer = new MemoryStream();
                using (var w = new Utf8JsonWriter(buffer)) report.Json(w);
                Output.Line(buffer.ToArray());
            }
            else foreach (var line in report.Text().AsSpan().TrimEnd('\n').EnumerateLines()) Output.Line(line.ToString());
        }
    }
}
