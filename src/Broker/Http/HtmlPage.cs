using System.Text;

namespace Broker.Http;

/// <summary>
/// A page of the broker: the body is rendered inside the layout when the response is written, so the
/// layout takes the deployment's branding from the request's services and no page needs to pass it.
/// </summary>
public sealed class HtmlPage(string title, string body, int statusCode, bool wide, string? refreshTo = null) : IResult, IStatusCodeHttpResult, IContentTypeHttpResult
{
    public const string ContentType = "text/html; charset=utf-8";

    public int? StatusCode => statusCode;

    string IContentTypeHttpResult.ContentType => ContentType;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var branding = httpContext.RequestServices.GetRequiredService<PageBranding>();
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = ContentType;
        return httpContext.Response.WriteAsync(Render(branding), Encoding.UTF8);
    }

    private string Render(PageBranding branding)
    {
        var width = wide ? " class=\"wide\"" : "";
        // The logo is decorative: the product name beside it is the text a screen reader needs.
        var logo = branding.LogoUri is null ? "" : $"<img src=\"{Html.Text(branding.LogoUri)}\" alt=\"\">";
        return $"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Html.Text(title)} · {Html.Text(branding.ProductName)}</title>
            {(refreshTo is null ? "" : $"<meta http-equiv=\"refresh\" content=\"0; url={Html.Text(refreshTo)}\">")}
            <link rel="stylesheet" href="{Html.StylesheetPath}">
            </head>
            <body>
            <header class="brand{(wide ? " wide" : "")}">{logo}<span>{Html.Text(branding.ProductName)}</span></header>
            <main{width}>
            {body}
            </main>
            </body>
            </html>
            """;
    }
}
