using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;

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

    /// <summary>A whole page with the given status code.</summary>
    public static ContentHttpResult Page(string title, string body, int statusCode = StatusCodes.Status200OK) =>
        TypedResults.Content(
            $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Text(title)} · Broker</title>
            <link rel="stylesheet" href="{StylesheetPath}">
            </head>
            <body>
            <main>
            {body}
            </main>
            </body>
            </html>
            """,
            "text/html; charset=utf-8",
            Encoding.UTF8,
            statusCode);

    /// <summary>An error page: what went wrong, in words, and never a redirect.</summary>
    public static ContentHttpResult Error(string title, string message, int statusCode = StatusCodes.Status400BadRequest) =>
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
    public static ContentHttpResult FormRefused() =>
        Error("Form expired", "This form was malformed or has expired. Go back, reload the page and try again.");

    /// <summary>A hidden form field.</summary>
    public static string Hidden(string name, string? value) =>
        value is null ? "" : $"<input type=\"hidden\" name=\"{Text(name)}\" value=\"{Text(value)}\">";

    /// <summary>The stylesheet: served from here so that the CSP can stay at <c>style-src 'self'</c>.</summary>
    public static IEndpointRouteBuilder MapStylesheet(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(StylesheetPath, () => TypedResults.Text(Stylesheet, "text/css; charset=utf-8"))
            .ExcludeFromDescription();
        return routes;
    }

    private const string Stylesheet = """
        body { font-family: system-ui, sans-serif; background: #f6f6f6; color: #111; margin: 0; }
        main { max-width: 34rem; margin: 3rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.1); }
        h1 { font-size: 1.4rem; margin-top: 0; }
        label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
        input[type=email], input[type=password], input[type=text] { width: 100%; padding: .5rem; box-sizing: border-box; }
        button { margin-top: 1.25rem; padding: .55rem 1.2rem; border: 0; border-radius: 4px; background: #111; color: #fff; cursor: pointer; }
        button.secondary { background: #ddd; color: #111; }
        .error { color: #a40000; }
        .host { font-size: 1.3rem; font-weight: 700; background: #fff6d5; padding: .5rem; border-radius: 4px; word-break: break-all; }
        .badge { background: #a40000; color: #fff; padding: .1rem .4rem; border-radius: 3px; font-size: .8rem; }
        code { word-break: break-all; }
        table { width: 100%; border-collapse: collapse; }
        td, th { text-align: left; padding: .4rem; border-bottom: 1px solid #eee; vertical-align: top; }
        form.inline { display: inline; }
        """;
}
