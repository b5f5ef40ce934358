using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;

namespace Broker.Http;

/// <summary>
/// Server-rendered pages. Every piece of text goes through <see cref="Text"/> (HTML-encoded); the
/// only markup is ours. No script at all, so the CSP can forbid inline script outright.
/// </summary>
public static class Html
{
    public const string StylesheetPath = "/static/broker.css";

    /// <summary>Text shown to people, HTML-encoded.</summary>
    public static string Text(string? text) => HtmlEncoder.Default.Encode(text ?? "");

    /// <summary>
    /// Client-supplied text: encoded, isolated with &lt;bdi&gt; so right-to-left tricks cannot reorder
    /// the sentence around it, and shortened past <paramref name="maxLength"/> characters.
    /// </summary>
    public static string Untrusted(string? text, int maxLength = 100)
    {
        var value = text ?? "";
        if (value.Length > maxLength)
        {
            value = value[..maxLength] + "…";
        }
        return $"<bdi>{Text(value)}</bdi>";
    }

    /// <summary>
    /// A whole page with the given status code, in the deployment's branding; <paramref name="wide"/> for tables;
    /// <paramref name="refreshTo"/>, a path of ours, the page the browser moves on to at once (no script).
    /// </summary>
    public static HtmlPage Page(string title, string body, int statusCode = StatusCodes.Status200OK, bool wide = false, string? refreshTo = null) =>
        new(title, body, statusCode, wide, refreshTo);

    /// <summary>An error page: what went wrong, in words, and never a redirect.</summary>
    public static HtmlPage Error(string title, string message, int statusCode = StatusCodes.Status400BadRequest) =>
        Page(title, $"<h1>{Text(title)}</h1>\n<p class=\"error\">{Text(message)}</p>", statusCode);

    /// <summary>The hidden antiforgery field for a form on this request.</summary>
    public static string AntiforgeryField(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return $"<input type=\"hidden\" name=\"{Text(tokens.FormFieldName)}\" value=\"{Text(tokens.RequestToken)}\">";
    }

    /// <summary>The posted form when it is well-formed and carries a valid antiforgery token; else null.</summary>
    public static async Task<IFormCollection?> ValidFormAsync(HttpContext context, IAntiforgery antiforgery)
    {
        var form = await RequestForms.TryReadFormAsync(context.Request, context.RequestAborted);
        if (form is null)
        {
            return null;
        }
        try
        {
            return await antiforgery.IsRequestValidAsync(context) ? form : null;
        }
        catch (AntiforgeryValidationException)
        {
            return null;
        }
    }

    /// <summary>The page for a form that is malformed or lacks a valid antiforgery token.</summary>
    public static HtmlPage FormRefused() =>
        Error("Form expired", "This form was malformed or has expired. Go back, reload the page and try again.");

    /// <summary>A lifetime in words: "30 minutes", "2 hours".</summary>
    public static string Lifetime(TimeSpan lifetime) =>
        lifetime.TotalMinutes < 120 ? $"{Math.Ceiling(lifetime.TotalMinutes):0} minutes" : $"{Math.Round(lifetime.TotalHours):0} hours";

    /// <summary>A hidden form field.</summary>
    public static string Hidden(string name, string? value) =>
        value is null ? "" : $"<input type=\"hidden\" name=\"{Text(name)}\" value=\"{Text(value)}\">";

    /// <summary>The stylesheet: served from here so that the CSP can stay at <c>style-src 'self'</c>.</summary>
    public static IEndpointRouteBuilder MapStylesheet(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(StylesheetPath, (PageBranding branding) => TypedResults.Text(branding.Stylesheet, "text/css; charset=utf-8"))
            .ExcludeFromDescription();
        return routes;
    }

    /// <summary>
    /// The rules after the brand's custom properties. Colours meet WCAG AA (4.5:1) for their text; the
    /// card is fluid below 36rem, so nothing scrolls sideways at 360 px; focus is always visible.
    /// </summary>
    internal const string StylesheetRules = """
        :root { --text: #111827; --muted: #4b5563; --card: #fff; --line: #e5e7eb; --danger: #a40000; }
        * { box-sizing: border-box; }
        body { font-family: system-ui, sans-serif; background: var(--page); color: var(--text); margin: 0; line-height: 1.5; overflow-wrap: break-word; }
        .brand { display: flex; align-items: center; gap: .6rem; max-width: 36rem; margin: 0 auto; padding: 1.25rem 1rem .5rem; font-weight: 700; font-size: 1.1rem; }
        .brand img { width: 2rem; height: 2rem; object-fit: contain; }
        main { max-width: 36rem; margin: 0 auto 3rem; background: var(--card); padding: 1.5rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
        main.wide, .brand.wide { max-width: 60rem; }
        @media (max-width: 36rem) { main { border-radius: 0; padding: 1.25rem 1rem; } }
        h1 { font-size: 1.4rem; line-height: 1.3; margin-top: 0; }
        h2 { font-size: 1.1rem; }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
        label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
        input[type=email], input[type=password], input[type=text] { width: 100%; padding: .55rem; font: inherit; border: 1px solid #6b7280; border-radius: 4px; }
        .actions { display: flex; flex-wrap: wrap; gap: .75rem; margin-top: 1.25rem; }
        button { padding: .6rem 1.2rem; font: inherit; border: 0; border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; white-space: nowrap; }
        form > button { margin-top: 1.25rem; }
        button.secondary { background: #e5e7eb; color: var(--text); }
        button.link { background: none; color: var(--accent); padding: 0; margin: 0; text-decoration: underline; }
        .error { color: var(--danger); }
        .notice { background: #ecfdf5; border-left: 4px solid #047857; padding: .5rem .75rem; }
        .host { font-size: 1.3rem; font-weight: 700; background: #fff6d5; padding: .5rem .75rem; border-radius: 4px; }
        .badge { background: var(--danger); color: #fff; padding: .1rem .4rem; border-radius: 3px; font-size: .8rem; }
        .muted, .fine { color: var(--muted); }
        .fine { font-size: .85rem; }
        .app { display: flex; gap: .75rem; align-items: center; border: 1px solid var(--line); border-radius: 6px; padding: .75rem; margin: 1rem 0; }
        .app img { width: 3rem; height: 3rem; object-fit: contain; flex: none; }
        .app p { margin: 0; }
        .app .name { font-weight: 700; }
        .signed-in { margin: 1rem 0; }
        .signed-in form { display: inline; }
        code, pre { font-family: ui-monospace, monospace; font-size: .9rem; }
        code, td, .host { overflow-wrap: anywhere; }
        pre { background: #f3f4f6; padding: .75rem; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
        table { width: 100%; border-collapse: collapse; }
        td, th { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        form.inline { display: inline; }
        form.inline button { margin: 0; }
        @media (max-width: 48rem) {
          table, tbody, tr, td { display: block; }
          thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
          tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
          td { border: 0; padding: .2rem 0; }
          td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
        }
        nav.console { display: flex; flex-wrap: wrap; gap: 1rem; align-items: baseline; border-bottom: 1px solid var(--line); padding-bottom: .75rem; margin-bottom: 1rem; }
        nav.console .who { margin-left: auto; color: var(--muted); }
        button.danger, a.button.danger { background: var(--danger); color: #fff; }
        .actions button { white-space: normal; }
        a.button { display: inline-block; padding: .6rem 1.2rem; border-radius: 4px; text-decoration: none; }
        form.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: 1rem; }
        form.search label { margin: 0; flex-basis: 100%; }
        form.search input { flex: 1 1 12rem; width: auto; }
        form.search button { margin: 0; }
        input[type=number] { padding: .55rem; font: inherit; border: 1px solid #6b7280; border-radius: 4px; width: 10rem; }
        fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; }
        ul.checks { list-style: none; padding: 0; margin: 0; }
        ul.checks li { display: flex; gap: .5rem; align-items: center; padding: .2rem 0; }
        label.check { display: inline; margin: 0; font-weight: 400; }
        svg.chart { width: 100%; height: auto; display: block; background: #f9fafb; border: 1px solid var(--line); border-radius: 4px; }
        svg.chart .admitted, svg.meter .admitted { fill: var(--accent); }
        svg.chart .refused, svg.meter .refused { fill: var(--danger); }
        svg.chart .day { stroke: var(--line); }
        svg.chart .limit { stroke: var(--danger); stroke-dasharray: 4 3; }
        svg.chart .axis { font-size: 9px; fill: var(--muted); }
        svg.meter { width: 100%; max-width: 24rem; height: .8rem; display: block; }
        svg.meter .track { fill: var(--line); }
        table.totals { max-width: 28rem; margin-top: .75rem; }
        """;
}
