using System.Globalization;
using System.Text.RegularExpressions;

namespace Filter.Cli;

/// <summary>
/// The times <c>filterc run --start/--end</c> take, as ausearch 3.0.9's <c>-ts/-te</c> reads them
/// (src/ausearch-time.c; spec/tools.md, "run"): a keyword (<c>now recent boot today yesterday this-week week-ago
/// this-month this-year</c>, <c>boot</c> excepted), a date (<c>MM/DD/YYYY</c>, <c>MM/DD/YY</c> as the en_US and C
/// locales' <c>%x</c>, or ISO <c>YYYY-MM-DD</c>), either followed by a time (<c>HH:MM</c> or <c>HH:MM:SS</c>), or an
/// ISO date-time (<c>2026-12-06T10:00:00</c>, with <c>Z</c> or an offset for a zone). Times are local (the clock's
/// zone) unless zoned. The result is whole seconds since 1970 UTC: ausearch compares an event's seconds, so
/// <c>--start S</c> selects events at S.000 or later and <c>--end E</c> events up to E.999.
/// </summary>
internal static partial class AusearchTime
{
    /// <summary>Parses <paramref name="text"/> (a word, or a date and a time separated by a space) as a start or an end.</summary>
    public static bool TryParse(string text, bool end, TimeProvider clock, out long seconds, out string error)
    {
        seconds = 0;
        error = "";
        var zone = clock.LocalTimeZone;
        var now = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone);
        var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is 0 or > 2)
        {
            error = $"'{text}': expected a date or a keyword, then optionally a time (ausearch's forms, or ISO 2026-12-06T10:00:00)";
            return false;
        }
        if (words.Length == 1 && IsoDateTime().Match(words[0]) is { Success: true } iso)
        {
            if (!DateTimeOffset.TryParse(words[0], CultureInfo.InvariantCulture,
                    iso.Groups["zone"].Success ? DateTimeStyles.None : DateTimeStyles.AssumeLocal, out var zoned))
            {
                error = $"'{text}' is not a valid date and time";
                return false;
            }
            if (iso.Groups["zone"].Success) { seconds = zoned.ToUnixTimeSeconds(); return true; }
            return Local(zoned.DateTime, zone, text, out seconds, out error);
        }

        DateTime date;
        // now and recent (and today as an end: now) are a moment, whose own time a time of 00:00:00 does not
        // replace (ausearch's "if (ti == NULL || strcmp(ti, \"00:00:00\") == 0)").
        bool moment = words[0] is "now" or "recent" || (end && words[0] == "today");
        if (moment && words.Length == 2 && words[1] == "00:00:00") words = [words[0]];
        switch (words[0])
        {
            case "now": date = now.DateTime; break;
            case "recent": date = now.DateTime.AddMinutes(-10); break;
            case "today": date = end ? now.DateTime : now.Date; break;
            case "yesterday": date = now.Date.AddDays(-1); break;
            case "this-week": date = now.Date.AddDays(-(int)now.DayOfWeek); break; // day 0 of the week: Sunday (tm_wday)
            case "week-ago": date = now.Date.AddDays(-7); break;
            case "this-month": date = new DateTime(now.Year, now.Month, 1); break;
            case "this-year": date = new DateTime(now.Year, 1, 1); break;
            case "boot":
                error = "'boot' is not supported: the log does not say when the machine that wrote it booted";
                return false;
            default:
                if (!TryDate(words[0], out date))
                {
                    error = $"'{words[0]}' is not a date (MM/DD/YYYY, MM/DD/YY or YYYY-MM-DD) nor one of now, recent, today, yesterday, this-week, week-ago, this-month, this-year";
                    return false;
                }
                break;
        }
        if (words.Length == 2)
        {
            if (!TryTime(words[1], out var time))
            {
                error = $"'{words[1]}' is not a time (HH:MM or HH:MM:SS, 24-hour clock)";
                return false;
            }
            date = date.Date + time;
        }
        else if (!moment && end) date = date.Date + now.TimeOfDay; // -te DATE: that day at the current time, as ausearch
        date = new DateTime(date.Ticks - date.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Unspecified);
        if (date.Year < 2004)
        {
            error = $"'{text}': the year is {date.Year} (ausearch refuses years before 2004)";
            return false;
        }
        return Local(date, zone, text, out seconds, out error);
    }

    private static bool Local(DateTime local, TimeZoneInfo zone, string text, out long seconds, out string error)
    {
        seconds = 0;
        error = "";
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            error = $"'{text}' does not exist in the time zone {zone.Id} (skipped by a daylight saving change)";
            return false;
        }
        // An ambiguous local time (the hour repeated when DST ends) is its second occurrence, in standard time, as a date literal is.
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Min() : zone.GetUtcOffset(local);
        seconds = new DateTimeOffset(local, offset).ToUnixTimeSeconds();
        return true;
    }

    private static bool TryDate(string text, out DateTime date) =>
        DateTime.TryParseExact(text, ["MM/dd/yyyy", "M/d/yyyy", "MM/dd/yy", "M/d/yy", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    private static bool TryTime(string text, out TimeSpan time) =>
        TimeSpan.TryParseExact(text, [@"hh\:mm", @"hh\:mm\:ss", @"h\:mm", @"h\:mm\:ss"], CultureInfo.InvariantCulture, out time) && time < TimeSpan.FromDays(1);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?<zone>Z|[+-]\d{2}:\d{2})?$")]
    private static partial Regex IsoDateTime();
}
