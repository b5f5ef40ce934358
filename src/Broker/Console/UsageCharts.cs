using System.Globalization;
using System.Text;
using Broker.Core.Platform;
using Broker.Http;

namespace Broker.Console;

/// <summary>
/// Usage as inline SVG, drawn on the server: no script and no chart library, so the CSP stays at
/// <c>script-src 'self'</c> with nothing to serve. Colours come from the stylesheet (classes, never
/// style attributes, which the CSP forbids); every bar has a title, and the figures are also written out.
/// </summary>
internal static class UsageCharts
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(7);

    private const int Hours = 7 * 24;
    private const int BarWidth = 5;
    private const int Height = 160;
    private const int Top = 12;
    private const int Bottom = 20;

    /// <summary>The start of the chart's first hour: 7 days of whole hours up to and including the current one.</summary>
    public static DateTimeOffset From(DateTimeOffset now) => UsageHour.HourOf(now) - Window + TimeSpan.FromHours(1);

    /// <summary>Calls per hour over the last 7 days, admitted and refused stacked; with <paramref name="limit"/>, the hourly quota as a line.</summary>
    public static string CallsPerHour(string title, IReadOnlyList<UsageHour> hours, DateTimeOffset now, int? limit = null)
    {
        var from = From(now);
        var byHour = hours.ToDictionary(hour => hour.Hour);
        var highest = Math.Max(1, hours.Select(hour => Refused(hour) + hour.Admitted).DefaultIfEmpty(0).Max());
        var scale = Math.Max(highest, limit ?? 0);
        var plot = Height - Top - Bottom;
        var svg = new StringBuilder();
        var id = "chart-" + Math.Abs(title.GetHashCode(StringComparison.Ordinal)).ToString(CultureInfo.InvariantCulture);
        svg.Append(CultureInfo.InvariantCulture,
            $"""<svg class="chart" viewBox="0 0 {Hours * BarWidth} {Height}" role="img" aria-labelledby="{id}"><title id="{id}">{Html.Text(title)}</title>""");
        for (var index = 0; index < Hours; index++)
        {
            var hour = from + TimeSpan.FromHours(index);
            var x = index * BarWidth;
            if (hour.Hour == 0)
            {
                svg.Append(CultureInfo.InvariantCulture, $"""<line class="day" x1="{x}" y1="{Top}" x2="{x}" y2="{Height - Bottom}"/>""");
                svg.Append(CultureInfo.InvariantCulture, $"""<text class="axis" x="{x + 2}" y="{Height - 6}">{hour:ddd d MMM}</text>""");
            }
            if (!byHour.TryGetValue(hour, out var counts))
            {
                continue;
            }
            var admittedHeight = plot * counts.Admitted / (double)scale;
            var refusedHeight = plot * Refused(counts) / (double)scale;
            var baseline = Height - Bottom;
            var label = $"{hour:yyyy-MM-dd HH}:00 UTC: {counts.Admitted} admitted, {Refused(counts)} refused";
            svg.Append(CultureInfo.InvariantCulture,
                $"""<rect class="admitted" x="{x}" y="{baseline - admittedHeight:0.##}" width="{BarWidth - 1}" height="{admittedHeight:0.##}"><title>{Html.Text(label)}</title></rect>""");
            if (refusedHeight > 0)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"""<rect class="refused" x="{x}" y="{baseline - admittedHeight - refusedHeight:0.##}" width="{BarWidth - 1}" height="{refusedHeight:0.##}"><title>{Html.Text(label)}</title></rect>""");
            }
        }
        if (limit is { } quota)
        {
            var y = Height - Bottom - plot * quota / (double)scale;
            svg.Append(CultureInfo.InvariantCulture,
                $"""<line class="limit" x1="0" y1="{y:0.##}" x2="{Hours * BarWidth}" y2="{y:0.##}"/><text class="axis" x="4" y="{y - 3:0.##}">limit {quota} an hour</text>""");
        }
        svg.Append(CultureInfo.InvariantCulture, $"""<text class="axis" x="{Hours * BarWidth - 4}" y="{Top - 2}" text-anchor="end">{scale} calls</text></svg>""");
        return svg.ToString();
    }

    /// <summary>The window's totals by outcome, as a table: the refusals by reason.</summary>
    public static string Totals(IReadOnlyList<UsageHour> hours)
    {
        long Sum(Func<UsageHour, long> count) => hours.Sum(count);
        (string Label, long Count)[] rows =
        [
            ("Admitted", Sum(hour => hour.Admitted)),
            ("Refused: endpoint not whitelisted", Sum(hour => hour.NotWhitelisted)),
            ("Refused: hourly quota spent", Sum(hour => hour.QuotaSpent)),
            ("Refused: quota store unavailable", Sum(hour => hour.Unavailable)),
        ];
        return $"""
            <table class="totals">
            <thead><tr><th scope="col">Last 7 days</th><th scope="col">Calls</th></tr></thead>
            <tbody>{string.Concat(rows.Select(row => $"<tr><td>{Html.Text(row.Label)}</td><td>{row.Count.ToString("N0", CultureInfo.InvariantCulture)}</td></tr>"))}</tbody>
            </table>
            """;
    }

    /// <summary>This hour's calls against the hourly limit, as a bar and in words.</summary>
    public static string QuotaUse(long used, int limit)
    {
        var share = Math.Min(1, used / (double)Math.Max(1, limit));
        return $"""
            <p>This hour: <strong>{used.ToString("N0", CultureInfo.InvariantCulture)}</strong> of {limit.ToString("N0", CultureInfo.InvariantCulture)} calls ({share:P0}).</p>
            <svg class="meter" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="{share:P0} of this hour's quota used"><rect class="track" width="100" height="6"/><rect class="{(share >= 1 ? "refused" : "admitted")}" width="{share * 100:0.##}" height="6"/></svg>
            """;
    }

    private static long Refused(UsageHour hour) => hour.NotWhitelisted + hour.QuotaSpent + hour.Unavailable;
}
