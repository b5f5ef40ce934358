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
    public static async Task<(int Status, string Response)> SendRawAsync(Uri address, byte[] request, bool wholeResponse = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request);
        var buffer = new byte[wholeResponse ? 256 * 1024 : 8192];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (read < (wholeResponse ? buffer.Length : 12))
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), timeout.Token);
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
