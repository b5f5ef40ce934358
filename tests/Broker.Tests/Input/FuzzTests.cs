using Broker.Hosting;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Core.Platform;
using Broker.Platform;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Broker.Tests.Input;

/// <summary>
/// A seeded grammar and mutation fuzzer over every route: those of the OpenAPI document (read from
/// the running broker) and the installation, account, registration, discovery and gateway routes.
/// Bodies start from each route's own shape, then are broken (undecodable names and strings, unknown
/// charsets, wrong media types, truncation, deep nesting, huge bodies, repeated names, wrong kinds);
/// queries, path values and headers likewise. Sent anonymously and with every kind of credential.
/// Every answer is below 500, every error carries a body in its family's format, nothing is logged
/// as an error, and the broker still works after.
/// <c>BROKER_FUZZ_REQUESTS</c> sets the count (default 5,000), <c>BROKER_FUZZ_SEED</c> the seed;
/// request <c>i</c> comes from its own generator, so a failure names the index to replay.
/// </summary>
public sealed class FuzzTests(CredentialedHarness credentials, ITestOutputHelper output) : IClassFixture<CredentialedHarness>
{
    private const int DefaultRequests = 5_000;
    private const int DefaultSeed = 20261204;

    [Fact]
    public async Task Any_input_on_any_route_gets_an_answer_below_500_and_errors_in_the_routes_format()
    {
        var count = Setting("BROKER_FUZZ_REQUESTS", DefaultRequests);
        var seed = Setting("BROKER_FUZZ_SEED", DefaultSeed);
        var material = await MaterialAsync();
        var routes = await RoutesAsync();
        var histogram = new SortedDictionary<int, int>();
        var failures = new List<string>();
        var unsendable = 0;
        var watch = Stopwatch.StartNew();

        for (var index = 0; index < count; index++)
        {
            var random = new Random(unchecked((seed * 1_000_003) + index));
            var fuzzed = FuzzedRequest.Make(random, routes, material);
            if (fuzzed is null)
            {
                unsendable++;
                continue;
            }
            var (client, request, description) = fuzzed.Value;
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request);
            }
            catch (Exception exception) when (exception is InvalidOperationException or UriFormatException or FormatException or HttpRequestException or ArgumentException)
            {
                // The client library or the test server refused to send it (a header, host or URI it will not
                // write): not the broker's answer. The raw-socket fuzz in GarbageInputTests sends such bytes as they are.
                unsendable++;
                continue;
            }
            var status = (int)response.StatusCode;
            histogram[status] = histogram.GetValueOrDefault(status) + 1;
            var body = await response.Content.ReadAsStringAsync();
            var path = request.RequestUri!.IsAbsoluteUri ? request.RequestUri.AbsolutePath : request.RequestUri.OriginalString.Split('?')[0];
            if (status >= 500)
            {
                failures.Add($"#{index} {description} -> {status} {Cut(body)}");
            }
            else if (status >= 400 && request.Method != HttpMethod.Head
                && ErrorFamilies.Problem(ErrorFamilies.Of(path), response.Content.Headers.ContentType?.MediaType, body) is { } problem)
            {
                failures.Add($"#{index} {description} -> {status}: {problem}");
            }
        }
        watch.Stop();

        output.WriteLine($"seed {seed}: {count} requests ({unsendable} not sendable) in {watch.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"5xx: {histogram.Where(pair => pair.Key >= 500).Sum(pair => pair.Value)}");
        output.WriteLine("status histogram: " + string.Join(", ", histogram.Select(pair => $"{pair.Key}: {pair.Value}")));
        failures.Should().BeEmpty($"{failures.Count} of {count} requests failed; the first:\n{string.Join("\n", failures.Take(30))}\n");
        credentials.Logs.Errors.Take(10).Should().BeEmpty();
        // Still healthy, and the ordinary path still works.
        var api = credentials.Platform.Broker.CreateApiClient();
        (await api.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
        await Registrations.EnableAsync(credentials.Platform.Broker);
        await credentials.RegisterAsync();
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static string Cut(string text) => text.Length > 300 ? text[..300] : text;

    private async Task<IReadOnlyList<Route>> RoutesAsync()
    {
        var routes = new List<Route>();
        using var document = JsonDocument.Parse(await credentials.Platform.Broker.CreateApiClient().GetStringAsync("/openapi/v1.json"));
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(operation => operation.Name != "parameters"))
            {
                routes.Add(new Route(operation.Name.ToUpperInvariant(), path.Name));
            }
        }
        routes.Should().Contain(route => route.Template.StartsWith("/admin/v1", StringComparison.Ordinal))
            .And.Contain(route => route.Template.StartsWith("/oauth2/v1", StringComparison.Ordinal))
            .And.Contain(route => route.Template.StartsWith("/api/v2", StringComparison.Ordinal));
        routes.AddRange(UndocumentedRoutes.Select(route => new Route(route.Split(' ')[0], route.Split(' ')[1])));
        return routes;
    }

    // The routes the OpenAPI document leaves out (installation, accounts, registration, operations, gateway).
    private static readonly string[] UndocumentedRoutes =
    [
        "GET /oauth/authorize", "POST /oauth/authorize", "POST /oauth/token", "POST /clients",
        "GET /account/login", "POST /account/login", "GET /account/join", "POST /account/join",
        "GET /account/logout", "POST /account/logout", "GET /account/apps", "POST /account/apps/{clientId}/revoke",
        "POST /oidc/register", "GET /oidc/register/{clientId}", "PUT /oidc/register/{clientId}", "DELETE /oidc/register/{clientId}",
        "GET /.well-known/oauth-authorization-server", "GET /.well-known/jwks.json", "GET /healthz", "GET /readyz", "GET /openapi/v1.json", "GET /scalar",
        "GET /static/broker.css", "GET /", "GET /photos", "GET /photos/random", "GET /photos/{id}", "GET /search/photos",
        "POST /photos/{id}/like", "GET /me",
    ];

    private async Task<Material> MaterialAsync()
    {
        var platform = credentials.Platform;
        var child = await platform.CreateChildAsync("Fuzzed Blog");
        var administration = platform.Broker.Services.GetRequiredService<PlatformAdministration>();
        var readOnly = await administration.CreateAdminTokenAsync("fuzz read-only", [AdminScopes.ClientsRead], AuditActor.CommandLine);
        var sacrificial = await administration.CreateAdminTokenAsync("fuzz revocable", [AdminScopes.AuditRead], AuditActor.CommandLine);
        var installationTokens = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            installationTokens.Add(await platform.InstallationTokenAsync());
        }
        // The signed-in browser's antiforgery token, so that forms get past it to their fields.
        var logoutPage = await platform.Flow.Browser.GetAsync("/account/logout");
        var form = await Browser.FormAsync(logoutPage, "/account/logout");
        var antiforgery = form.Fields.Single(field => field.Key.StartsWith("__", StringComparison.Ordinal));
        var admin = $"SSWS {credentials.Admin.DefaultRequestHeaders.Authorization!.Parameter!}";
        var registration = $"Bearer {credentials.RegistrationToken}";
        var childKey = $"Client-ID {child}";
        var parentBasic = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{platform.Parent.Client.ClientId}:{platform.Parent.ClientSecret}"));
        var installations = installationTokens.Select(token => $"Bearer {token}").ToArray();
        return new Material(
            Ids: [platform.Parent.Client.ClientId, child, credentials.RegisteredId, platform.OwnerUserId, sacrificial.Value!.Token.TokenId],
            Authorizations:
            [
                null, admin, $"SSWS {readOnly.Value!.Value}", registration, childKey, $"Client-ID {platform.Parent.Client.ClientId}", parentBasic,
                .. installations,
                "Bearer \u00ff\u00fe", "SSWS ", "Basic !!!", "Client-ID a b", "Negotiate abc", "Bearer " + new string('a', 5000),
            ],
            FittingAuthorization: path =>
                ErrorFamilies.Of(path) == ErrorFamilies.Family.Problem ? new string?[] { admin }
                : path.StartsWith("/oidc/register/", StringComparison.Ordinal) ? [registration]
                : path.StartsWith("/clients", StringComparison.Ordinal) ? [.. installations]
                : path.StartsWith("/oauth/token", StringComparison.Ordinal) ? [parentBasic, null]
                : path.StartsWith("/photos", StringComparison.Ordinal) || path.StartsWith("/me", StringComparison.Ordinal)
                    || path.StartsWith("/search", StringComparison.Ordinal) ? [childKey]
                : [null],
            ParentId: platform.Parent.Client.ClientId,
            ParentSecret: platform.Parent.ClientSecret,
            AntiforgeryField: antiforgery.Key,
            AntiforgeryToken: antiforgery.Value,
            Api: platform.Broker.CreateApiClient(),
            SignedInBrowser: platform.Flow.Browser.Http);
    }
}

public sealed record Route(string Method, string Template);

/// <summary>What the fuzzer fills requests with: real ids and credentials among the junk.</summary>
public sealed record Material(
    string[] Ids, string?[] Authorizations, Func<string, string?[]> FittingAuthorization, string ParentId, string ParentSecret,
    string AntiforgeryField, string AntiforgeryToken, HttpClient Api, HttpClient SignedInBrowser);
