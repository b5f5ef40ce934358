using System.Net;
using AngleSharp.Html.Dom;
using AngleSharp.Html.Parser;
using Microsoft.AspNetCore.WebUtilities;

namespace Broker.Tests;

/// <summary>A form as a browser would submit it: its action and the values of its fields.</summary>
public sealed record HtmlForm(string Action, string Method, Dictionary<string, string> Fields);

/// <summary>
/// Drives the broker's pages the way a browser does: reads the HTML, fills the real form (with its
/// antiforgery token) and posts it, keeping cookies, without following redirects.
/// </summary>
public sealed class Browser(HttpClient http)
{
    public HttpClient Http { get; } = http;

    public Task<HttpResponseMessage> GetAsync(string url) => Http.GetAsync(url);

    /// <summary>The form on a page whose action starts with <paramref name="actionPrefix"/>.</summary>
    public static async Task<HtmlForm> FormAsync(HttpResponseMessage page, string actionPrefix)
    {
        var html = await page.Content.ReadAsStringAsync();
        var document = new HtmlParser().ParseDocument(html);
        var form = document.Forms.FirstOrDefault(f => (f.GetAttribute("action") ?? "").StartsWith(actionPrefix, StringComparison.Ordinal));
        form.Should().NotBeNull($"the page should have a form posting to {actionPrefix}; page was:\n{html}");
        var fields = form!.Elements.OfType<IHtmlInputElement>()
            .Where(input => !string.IsNullOrEmpty(input.Name))
            .ToDictionary(input => input.Name!, input => input.Value, StringComparer.Ordinal);
        return new HtmlForm(form.GetAttribute("action")!, form.Method, fields);
    }

    /// <summary>Posts a form with some fields filled in or overridden, as a submit button would.</summary>
    public Task<HttpResponseMessage> SubmitAsync(HtmlForm form, params (string Name, string Value)[] values)
    {
        var fields = new Dictionary<string, string>(form.Fields, StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            fields[name] = value;
        }
        return Http.PostAsync(form.Action, new FormUrlEncodedContent(fields));
    }

    /// <summary>Signs in through the real login page.</summary>
    public async Task SignInAsync(string email = "owner@blog.example", string password = "correct horse battery")
    {
        var response = await TrySignInAsync(email, password);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Fills in and posts the real login page; the answer, whatever it is.</summary>
    public async Task<HttpResponseMessage> TrySignInAsync(string email, string password)
    {
        var form = await FormAsync(await GetAsync("/account/login"), "/account/login");
        return await SubmitAsync(form, ("email", email), ("password", password));
    }

    /// <summary>Follows a redirect to a page of the broker itself.</summary>
    public Task<HttpResponseMessage> FollowAsync(HttpResponseMessage redirect) =>
        GetAsync(redirect.Headers.Location!.ToString());

    /// <summary>The query parameters of a redirect's Location.</summary>
    public static Dictionary<string, string> RedirectQuery(HttpResponseMessage redirect)
    {
        var location = redirect.Headers.Location!;
        var absolute = location.IsAbsoluteUri ? location : new Uri(new Uri(BrokerFactory.Issuer), location);
        return QueryHelpers.ParseQuery(absolute.Query).ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal);
    }
}
