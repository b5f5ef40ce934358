using Broker.Hosting;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Broker.Core.Platform;
using Broker.Platform;
using Broker.Tests.Input;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Tests;

/// <summary>
/// Garbage thrown at every endpoint over a real socket (Kestrel on loopback): every answer is a
/// clear 4xx (or a redirect of the protocol), never a 500, and nothing is written.
/// </summary>
public sealed class GarbageInputTests : IAsyncLifetime
{
    private readonly BrokerFactory broker = new();
    private readonly CapturedLogs logs = new();
    private Uri address = null!;
    private string parentId = null!;

    public async Task InitializeAsync()
    {
        broker.TestServices = services => services.AddSingleton<ILoggerProvider>(logs);
        broker.UseKestrel(0);
        broker.StartServer();
        address = new Uri(broker.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        parentId = (await broker.CreateParentAsync()).Client.ClientId;
    }

    public Task DisposeAsync()
    {
        broker.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Sends raw bytes to <paramref name="address"/>; the status code of the first response line (0 if
    /// the server closed silently) and, with <paramref name="wholeResponse"/>, all it sent until it closed.
    /// </summary>
    public static async Task<(int Status, string Response)> SendRawAsync(Uri address, byte[] request, bool wholeResponse = false, bool endAfterSending = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request);
        if (endAfterSending)
        {
            // A request cut short then ends at once, instead of the server waiting for the bytes it was promised.
            tcp.Client.Shutdown(SocketShutdown.Send);
        }
        var buffer = new byte[wholeResponse ? 256 * 1024 : 8192];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (read < (wholeResponse ? buffer.Length : 12))
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
            }
            catch (IOException)
            {
                // The server answered and reset the connection over bytes it would not read: what came is the answer.
                break;
            }
            if (n == 0)
            {
                break;
            }
            read += n;
        }
        var response = Encoding.UTF8.GetString(buffer, 0, read);
        var status = response.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) ? int.Parse(response.AsSpan(9, 3), provider: null) : 0;
        return (status, response);
    }

    /// <summary>A request head written with \n line ends (sent as CRLF), then <paramref name="body"/>.</summary>
    public static byte[] Raw(string head, byte[]? body = null) =>
        [.. Encoding.Latin1.GetBytes(head.Replace("\n", "\r\n", StringComparison.Ordinal)), .. body ?? []];

    private async Task<int> SendAsync(string head, byte[]? body = null) => (await SendRawAsync(address, Raw(head, body))).Status;

    public static TheoryData<string, string> Endpoints => new()
    {
        { "POST", "/oauth/token" },
        { "POST", "/clients" },
        { "POST", "/account/login" },
        { "POST", "/account/join" },
        { "POST", "/account/logout" },
        { "POST", "/oauth/authorize" },
        { "POST", "/account/apps/abc/revoke" },
    };

    public static IEnumerable<object[]> EndpointsWithGarbage()
    {
        var bodies = new (string ContentType, byte[] Body)[]
        {
            ("application/json", "{\"name\": "u8.ToArray()),
            ("application/json", [0xff, 0xfe, 0x00, 0x7b]),
            ("application/json; charset=klingon", "{\"name\":\"x\"}"u8.ToArray()),
            ("application/x-www-form-urlencoded", "a=%zz&b=%C0%AF&%%%=1"u8.ToArray()),
            ("application/x-www-form-urlencoded; charset=klingon", "name=x"u8.ToArray()),
            ("application/x-www-form-urlencoded", [(byte)'n', (byte)'=', 0xc3, 0x28, 0xa0, 0xa1]),
            ("multipart/form-data; boundary=zzz", "--zzz\r\nContent-Disposition: form-data\r\n\r\nbroken"u8.ToArray()),
            ("multipart/form-data", "no boundary"u8.ToArray()),
            ("text/xml", "<x/>"u8.ToArray()),
            ("", "name=x"u8.ToArray()),
            ("application/x-www-form-urlencoded", Encoding.ASCII.GetBytes(string.Join("&", Enumerable.Range(0, 500).Select(i => $"k{i}=v")))),
        };
        foreach (var endpoint in Endpoints)
        {
            foreach (var (contentType, body) in bodies)
            {
                yield return [endpoint[0], endpoint[1], contentType, body];
            }
        }
    }

    [Theory]
    [MemberData(nameof(EndpointsWithGarbage))]
    public async Task Malformed_bodies_get_a_4xx(string method, string path, string contentType, byte[] body)
    {
        var head = $"{method} {path} HTTP/1.1\nHost: localhost\nAuthorization: Bearer {new string('a', 64)}\n" +
                   (contentType.Length > 0 ? $"Content-Type: {contentType}\n" : "") +
                   $"Content-Length: {body.Length}\nConnection: close\n\n";
        var status = await SendAsync(head, body);
        status.Should().BeInRange(400, 499, $"{method} {path} with {contentType}");
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task An_over_long_body_is_413_declared_or_streamed(string method, string path)
    {
        var body = Encoding.ASCII.GetBytes("name=" + new string('x', 70 * 1024));
        var declared = await SendAsync($"{method} {path} HTTP/1.1\nHost: localhost\nContent-Type: application/x-www-form-urlencoded\nContent-Length: {body.Length}\nConnection: close\n\n", body);
        declared.Should().Be(413);
        var chunk = Encoding.ASCII.GetBytes($"{body.Length:x}\r\n").Concat(body).Concat("\r\n0\r\n\r\n"u8.ToArray()).ToArray();
        var streamed = await SendAsync($"{method} {path} HTTP/1.1\nHost: localhost\nContent-Type: application/x-www-form-urlencoded\nTransfer-Encoding: chunked\nConnection: close\n\n", chunk);
        streamed.Should().BeInRange(400, 499);
    }

    [Theory]
    [InlineData("POST /oauth/token HTTP/1.1\nHost: localhost\nTransfer-Encoding: chunked\nContent-Type: application/x-www-form-urlencoded\n\nzz\r\nnot a chunk\r\n")]
    [InlineData("POST /clients HTTP/1.1\nHost: localhost\nContent-Length: 10\nContent-Length: 20\n\nname=x")]
    [InlineData("GET /oauth/authorize HTTP/1.1\nHost: bad host name\n\n")]
    [InlineData("GET /oauth/authorize HTTP/1.1\nHost: a\nHost: b\n\n")]
    [InlineData("GET /oauth/authorize HTTP/1.1\n\n")]
    [InlineData("GET /oauth/authorize?client_id=%ff&redirect_uri=%zz HTTP/1.1\nHost: localhost\n\n")]
    [InlineData("GET /\u00e9\u00e8 HTTP/1.1\nHost: localhost\n\n")]
    [InlineData("GET /oauth/authorize?client_id=\u00e9 HTTP/1.1\nHost: localhost\n\n")]
    [InlineData("BREW /oauth/token HTTP/1.1\nHost: localhost\n\n")]
    public async Task Broken_framing_and_odd_headers_get_a_4xx(string request)
    {
        var status = await SendAsync(request);
        status.Should().BeInRange(400, 499);
    }

    [Theory]
    [InlineData("PUT", "/admin/v1/parents/{parent}")]
    [InlineData("PATCH", "/admin/v1/children/{parent}")]
    [InlineData("PATCH", "/api/v2/tenants/settings")]
    [InlineData("POST", "/oauth2/v1/clients")]
    [InlineData("POST", "/oidc/register")]
    [InlineData("POST", "/oauth/token")]
    [InlineData("POST", "/account/login")]
    public async Task A_broken_chunked_body_is_a_handled_4xx_in_the_routes_format_and_no_error_is_logged(string method, string route)
    {
        var token = await broker.Services.GetRequiredService<PlatformAdministration>()
            .CreateAdminTokenAsync("garbage", [.. AdminScopes.All], AuditActor.CommandLine);
        await Registrations.EnableAsync(broker);
        var path = route.Replace("{parent}", parentId, StringComparison.Ordinal);
        var contentType = route is "/oauth/token" or "/account/login" ? "application/x-www-form-urlencoded" : "application/json";

        var (status, response) = await SendRawAsync(address, Raw(
            $"{method} {path} HTTP/1.1\nHost: localhost\nAuthorization: SSWS {token.Value!.Value}\nContent-Type: {contentType}\n" +
            "Transfer-Encoding: chunked\nConnection: close\n\n5\r\n{\"a\":\r\nzz\r\nnot a chunk\r\n"), wholeResponse: true);

        status.Should().Be(400, response);
        var separator = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var mediaType = response[..separator].Split("\r\n").FirstOrDefault(line => line.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase))?
            ["Content-Type:".Length..].Split(';')[0].Trim();
        var body = response[(separator + 4)..];
        if (response.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = string.Concat(body.Split("\r\n").Where((_, index) => index % 2 == 1));
        }
        ErrorFamilies.Problem(ErrorFamilies.Of(path), mediaType, body).Should().BeNull(response);
        logs.Errors.Should().BeEmpty();
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394", Justification = "A fuzzer must be replayable from its seed: predictable on purpose.")]
    public async Task Fuzzed_framing_gets_an_answer_below_500_and_logs_no_error()
    {
        // Request lines, Host headers, lengths and chunking, seeded: what reaches no route is Kestrel's
        // own 4xx (or 505 for an unknown version); what reaches one is answered in its format.
        var token = (await broker.Services.GetRequiredService<PlatformAdministration>()
            .CreateAdminTokenAsync("framing", [.. AdminScopes.All], AuditActor.CommandLine)).Value!.Value;
        string[] methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "BREW", "get", "G ET", ""];
        string[] targets =
        [
            "/oauth/token", "/clients", "/account/login", "/oauth/authorize", "/oidc/register", $"/admin/v1/parents/{parentId}",
            "/api/v2/tenants/settings", "/oauth2/v1/clients", "/readyz", "/photos", "*", "http://evil.example/oauth/token", "//", "/..%2f..%2f",
            "/\u00e9\u00e8", "/a\u0001b", "/a b", "/oauth/authorize?client_id=%ff&x=\u00e9", "/account/login?returnUrl=%zz%",
        ];
        string[] versions = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/9.9", "HTTP/1.1x", "", "http/1.1"];
        string?[] hosts = ["localhost", "localhost", "", "xn--", "xn--a.example", "evil.example", "a b", "[::1", "localhost:99999", "\u00e9.example", null];
        string[] bodies = ["{\"client_name\":\"x\"}", "{\"\\ud800\":1}", "grant_type=client_credentials", "a=%zz&b", "", "{\"a\":"];
        var random = new Random(Setting("BROKER_FUZZ_SEED", 20261204));
        var statuses = new List<(int Status, string Request)>();
        for (var i = 0; i < 300; i++)
        {
            var body = Encoding.UTF8.GetBytes(bodies[random.Next(bodies.Length)]);
            var head = new StringBuilder($"{methods[random.Next(methods.Length)]} {targets[random.Next(targets.Length)]} {versions[random.Next(versions.Length)]}\n");
            if (hosts[random.Next(hosts.Length)] is { } host)
            {
                head.Append($"Host: {host}\n");
                if (random.Next(10) == 0)
                {
                    head.Append("Host: other.example\n");
                }
            }
            if (random.Next(2) == 0)
            {
                head.Append($"Authorization: SSWS {token}\n");
            }
            head.Append($"Content-Type: {(random.Next(2) == 0 ? "application/json" : "application/x-www-form-urlencoded; charset=utf-7")}\n");
            var framing = random.Next(6);
            byte[] payload;
            if (framing < 3)
            {
                // A length that is right, short, long, negative or not a number.
                head.Append($"Content-Length: {new[] { body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "1", "99999", "-1", "abc", $"{body.Length}, {body.Length + 1}" }[random.Next(6)]}\n");
                payload = body;
            }
            else
            {
                head.Append($"Transfer-Encoding: {new[] { "chunked", "chunked", "gzip, chunked", "chunked, gzip", "identity" }[random.Next(5)]}\n");
                var chunk = new[]
                {
                    $"{body.Length:x}\r\n{Encoding.UTF8.GetString(body)}\r\n0\r\n\r\n", $"zz\r\n{Encoding.UTF8.GetString(body)}\r\n", "ffffffffffffffff\r\nx\r\n",
                    $"{body.Length:x};ext=1\r\n{Encoding.UTF8.GetString(body)}\r\n0\r\nX-Trailer: 1\r\n\r\n", $"{body.Length + 5:x}\r\n{Encoding.UTF8.GetString(body)}", "0\r\n",
                }[random.Next(6)];
                payload = Encoding.UTF8.GetBytes(chunk);
            }
            var request = Raw(head.Append("Connection: close\n\n").ToString(), payload);
            var (status, response) = await SendRawAsync(address, request, wholeResponse: true, endAfterSending: true);
            statuses.Add((status, Encoding.UTF8.GetString(request)));
            status.Should().Match(code => code < 500 || code == 505, $"#{i}: {Encoding.UTF8.GetString(request)} -> {response}");
        }
        statuses.Count(answer => answer.Status is >= 200 and < 500).Should().BePositive();
        logs.Errors.Should().BeEmpty();
        using var http = new HttpClient { BaseAddress = address };
        (await http.GetAsync("/readyz")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : fallback;

    [Fact]
    public async Task Odd_but_well_framed_requests_are_answered_without_failing()
    {
        // An undecodable return URL falls back to the apps page; the login page itself is fine.
        (await SendAsync("GET /account/login?returnUrl=%ff%fe HTTP/1.1\nHost: localhost\nConnection: close\n\n")).Should().Be(200);
        // An unknown HTTP version gets the standard's own answer.
        (await SendAsync("POST /oauth/token HTTP/9.9\nHost: localhost\n\n")).Should().Be(505);
    }

    [Fact]
    public async Task The_issuer_never_comes_from_the_host_header()
    {
        var status = await SendAsync($"GET /.well-known/oauth-authorization-server HTTP/1.1\nHost: evil.example\nConnection: close\n\n");
        status.Should().Be(200);
        using var http = new HttpClient { BaseAddress = address };
        var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/oauth-authorization-server");
        request.Headers.Host = "evil.example";
        var body = await (await http.SendAsync(request)).Content.ReadAsStringAsync();
        body.Should().Contain(BrokerFactory.Issuer).And.NotContain("evil.example");
    }

    [Fact]
    public async Task Non_ascii_and_odd_parameters_at_authorize_never_redirect_and_never_fail()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };
        var urls = new[]
        {
            $"/oauth/authorize?client_id={parentId}&redirect_uri=https%3A%2F%2Fbl%C3%B6g.example%2Fbroker%2Fcallback&response_type=code",
            $"/oauth/authorize?client_id={parentId}&redirect_uri=https%3A%2F%2Fblog.example%2Fbroker%2Fcallback%00&response_type=code",
            $"/oauth/authorize?client_id={parentId}&redirect_uri=https%3A%2F%2F%5B%3A%3A1%5D%3A99999%2Fbroker%2Fcallback&response_type=code",
            $"/oauth/authorize?client_id={parentId}&redirect_uri={new string('a', 5000)}&response_type=code",
            "/oauth/authorize?client_id=%E2%80%AE&redirect_uri=x",
        };
        foreach (var url in urls)
        {
            var response = await http.GetAsync(url);
            ((int)response.StatusCode).Should().BeInRange(400, 499, url);
        }
    }
}
