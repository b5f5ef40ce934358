using Broker.Hosting;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Platform;

namespace Broker.Tests;

/// <summary>The seed's five steps, as helpers the tests compose (each step checked where it is used).</summary>
public sealed class Installation(BrokerFactory broker)
{
    public const string InstallationRedirect = "https://blog.example/broker/callback";

    public Browser Browser { get; } = new(broker.CreateBrowser());

    public static string AuthorizeUrl(string clientId, string redirectUri = InstallationRedirect, string? state = "xyz", string? extra = null) =>
        $"/oauth/authorize?client_id={Uri.EscapeDataString(clientId)}&redirect_uri={Uri.EscapeDataString(redirectUri)}" +
        $"&response_type=code&scope=public{(state is null ? "" : "&state=" + Uri.EscapeDataString(state))}{extra}";

    /// <summary>Steps 1 and 2: authorize (signed in), approve on the consent page; returns the code.</summary>
    public async Task<string> ApproveAsync(CreatedApplication parent, string redirectUri = InstallationRedirect, string? extra = null)
    {
        var consent = await Browser.GetAsync(AuthorizeUrl(parent.Client.ClientId, redirectUri, extra: extra));
        consent.StatusCode.Should().Be(HttpStatusCode.OK, await consent.Content.ReadAsStringAsync());
        var form = await Browser.FormAsync(consent, "/oauth/authorize");
        var approved = await Browser.SubmitAsync(form, ("decision", "approve"));
        approved.StatusCode.Should().Be(HttpStatusCode.Redirect, await approved.Content.ReadAsStringAsync());
        approved.Headers.Location!.GetLeftPart(UriPartial.Path).Should().Be(redirectUri.Split('?')[0]);
        return Browser.RedirectQuery(approved)["code"];
    }

    /// <summary>Step 3: the token request, as the seed shows it (client_secret_post).</summary>
    public static Task<HttpResponseMessage> RequestTokenAsync(
        HttpClient api, CreatedApplication parent, string code, string redirectUri = InstallationRedirect, params (string, string)[] extra)
    {
        var fields = new Dictionary<string, string>
        {
            ["client_id"] = parent.Client.ClientId,
            ["client_secret"] = parent.ClientSecret,
            ["redirect_uri"] = redirectUri,
            ["code"] = code,
            ["grant_type"] = "authorization_code",
        };
        foreach (var (name, value) in extra)
        {
            fields[name] = value;
        }
        return api.PostAsync("/oauth/token", new FormUrlEncodedContent(fields));
    }

    public static async Task<string> TokenAsync(HttpClient api, CreatedApplication parent, string code, string redirectUri = InstallationRedirect)
    {
        var response = await RequestTokenAsync(api, parent, code, redirectUri);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        return json.GetProperty("access_token").GetString()!;
    }

    /// <summary>Step 4: POST /clients with the one-time bearer token.</summary>
    public static Task<HttpResponseMessage> CreateChildAsync(HttpClient api, string token, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/clients") { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", $"\"{idempotencyKey}\"");
        }
        return api.SendAsync(request);
    }

    /// <summary>Steps 1 to 3 for a signed-in browser: a fresh installation token.</summary>
    public async Task<string> InstallationTokenAsync(CreatedApplication parent, HttpClient api, string redirectUri = InstallationRedirect) =>
        await TokenAsync(api, parent, await ApproveAsync(parent, redirectUri), redirectUri);
}
