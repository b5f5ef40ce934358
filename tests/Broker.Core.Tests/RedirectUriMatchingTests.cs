using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class RedirectUriMatchingTests
{
    private static readonly string[] Registered =
    [
        "https://app.example.com/callback",
        "https://app.example.com/callback?tenant=a",
        "https://localhost/secure",
        "http://127.0.0.1/loopback",
        "http://127.0.0.1:3000/ported",
        "http://[::1]/v6",
        "http://localhost/named",
        "com.example.app:/oauth2redirect",
    ];

    [Theory]
    [InlineData("https://app.example.com/callback")]
    [InlineData("https://app.example.com/callback?tenant=a")]
    [InlineData("https://localhost/secure")]
    [InlineData("com.example.app:/oauth2redirect")]
    // Loopback http on any port (RFC 8252 §7.3), including a registered port replaced by another.
    [InlineData("http://127.0.0.1/loopback")]
    [InlineData("http://127.0.0.1:80/loopback")]
    [InlineData("http://127.0.0.1:51004/loopback")]
    [InlineData("http://127.0.0.1/ported")]
    [InlineData("http://127.0.0.1:9/ported")]
    [InlineData("http://[::1]:8080/v6")]
    [InlineData("http://localhost:5173/named")]
    public void A_registered_redirect_uri_matches(string requested)
    {
        RedirectUris.MatchesRegistered(Registered, requested).Should().BeTrue();
    }

    [Theory]
    // Byte-exact: case, trailing slash, default port written out, encoding and query all count.
    [InlineData("https://APP.example.com/callback")]
    [InlineData("https://app.example.com/Callback")]
    [InlineData("https://app.example.com/callback/")]
    [InlineData("https://app.example.com:443/callback")]
    [InlineData("https://app.example.com/%63allback")]
    [InlineData("https://app.example.com/callback?")]
    [InlineData("https://app.example.com/callback?tenant=b")]
    [InlineData("https://app.example.com/callback?tenant=a&x=1")]
    [InlineData("https://app.example.com/callback#")]
    [InlineData("https://app.example.com/callback/../callback")]
    [InlineData("https://evil.example.com/callback")]
    [InlineData("https://app.example.com.evil.com/callback")]
    [InlineData("https://app.example.com/callbackx")]
    [InlineData("https://app.example.com/callbac")]
    [InlineData("http://app.example.com/callback")]
    [InlineData(" https://app.example.com/callback")]
    [InlineData("")]
    [InlineData("not a uri")]
    // https on loopback keeps its port: the exemption is for http loopback only.
    [InlineData("https://localhost:8443/secure")]
    [InlineData("https://127.0.0.1/secure")]
    // Loopback ignores only the port: not the path, host, query, scheme, user-info or fragment.
    [InlineData("http://127.0.0.1:8080/other")]
    [InlineData("http://127.0.0.1:8080/loopback/")]
    [InlineData("http://127.0.0.1:8080/Loopback")]
    [InlineData("http://127.0.0.1:8080/loopback?x=1")]
    [InlineData("http://127.0.0.1:8080/loopback#x")]
    [InlineData("http://user@127.0.0.1:8080/loopback")]
    [InlineData("http://127.0.0.1:8080/x/../loopback")]
    [InlineData("http://127.0.0.1:8080/%6Coopback")]
    [InlineData("HTTP://127.0.0.1:8080/loopback")]
    [InlineData("http://LOCALHOST:5173/named")]
    [InlineData("http://127.0.0.2:8080/loopback")]
    [InlineData("http://localhost:8080/loopback")]
    [InlineData("http://[::1]:8080/loopback")]
    [InlineData("http://127.0.0.1:8080/v6")]
    [InlineData("http://127.0.0.1:8080/named")]
    [InlineData("https://127.0.0.1:8080/loopback")]
    [InlineData("http://example.com/loopback")]
    [InlineData("com.example.app:/oauth2redirect/")]
    [InlineData("com.example.app:/oauth2redirect#x")]
    public void A_redirect_uri_that_differs_from_every_registered_one_does_not_match(string requested)
    {
        RedirectUris.MatchesRegistered(Registered, requested).Should().BeFalse();
    }

    [Fact]
    public void Nothing_matches_when_nothing_is_registered()
    {
        RedirectUris.MatchesRegistered([], "http://127.0.0.1:8080/loopback").Should().BeFalse();
        RedirectUris.MatchesRegistered([], "https://app.example.com/callback").Should().BeFalse();
    }

    [Theory]
    [InlineData("https://site.example/broker/callback")]
    [InlineData("https://site.example:8443/broker/callback")]
    [InlineData("https://blog.site.example/broker/callback?site=1")]
    [InlineData("https://xn--bcher-kva.example/broker/callback")]
    [InlineData("http://127.0.0.1:2368/broker/callback")]
    [InlineData("http://localhost/broker/callback")]
    [InlineData("http://[::1]:8080/broker/callback")]
    public void Any_https_installation_with_the_callback_path_is_accepted(string requested)
    {
        RedirectUris.InstallationProblem(requested, "/broker/callback").Should().BeNull();
    }

    [Theory]
    [InlineData("https://site.example/broker/other", "path")]
    [InlineData("https://site.example/broker/callback/", "path")]
    [InlineData("https://site.example/Broker/Callback", "path")]
    [InlineData("https://site.example/broker/callbackx", "path")]
    [InlineData("https://site.example/prefix/broker/callback", "path")]
    [InlineData("https://site.example/", "path")]
    [InlineData("https://site.example", "path")]
    [InlineData("https://site.example/broker/callback#x", "fragment")]
    [InlineData("https://site.example/broker/callback#", "fragment")]
    [InlineData("https://user@site.example/broker/callback", "user-info")]
    [InlineData("https://@site.example/broker/callback", "user-info")]
    [InlineData("https://site.example/broker/callback?code=x", "'code'")]
    [InlineData("https://site.example/broker/callback?state=x", "'state'")]
    [InlineData("http://site.example/broker/callback", "https")]
    [InlineData("http://10.0.0.1/broker/callback", "https")]
    [InlineData("http://localhost.site.example/broker/callback", "https")]
    [InlineData("ftp://site.example/broker/callback", "https")]
    [InlineData("com.example.app:/broker/callback", "https")]
    [InlineData("https://bücher.example/broker/callback", "ASCII")]
    [InlineData("", "required")]
    public void An_installation_redirect_uri_off_the_policy_is_refused(string requested, string reason)
    {
        RedirectUris.InstallationProblem(requested, "/broker/callback").Should().NotBeNull().And.Contain(reason);
    }

    [Fact]
    public void An_installation_redirect_uri_over_2048_characters_is_refused()
    {
        var uri = "https://site.example/broker/callback?pad=" + new string('a', RedirectUris.MaxLength);
        RedirectUris.InstallationProblem(uri, "/broker/callback").Should().Contain("at most 2048");
    }

    [Theory]
    [InlineData("https://site.example/broker/callback?x=1", "https://site.example", "site.example")]
    [InlineData("https://site.example:8443/broker/callback", "https://site.example:8443", "site.example:8443")]
    [InlineData("https://site.example:443/broker/callback", "https://site.example", "site.example")]
    [InlineData("http://127.0.0.1:2368/broker/callback", "http://127.0.0.1:2368", "127.0.0.1:2368")]
    [InlineData("http://localhost/broker/callback", "http://localhost", "localhost")]
    [InlineData("https://Blog.Site.Example/cb", "https://blog.site.example", "blog.site.example")]
    public void The_installation_is_shown_and_recorded_by_its_origin_and_host(string uri, string origin, string displayHost)
    {
        RedirectUris.Origin(uri).Should().Be(origin);
        RedirectUris.DisplayHost(uri).Should().Be(displayHost);
    }

    [Theory]
    [InlineData("/broker/callback")]
    [InlineData("/")]
    [InlineData("/a-b_c.d~e/%20")]
    public void A_plain_absolute_callback_path_is_accepted(string path)
    {
        RedirectUris.CallbackPathProblem(path).Should().BeNull();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("broker/callback")]
    [InlineData("//evil.example/callback")]
    [InlineData("/broker/callback?x=1")]
    [InlineData("/broker/callback#x")]
    [InlineData("/broker/*")]
    [InlineData("/broker callback")]
    [InlineData("/broker/caf\u00e9")]
    [InlineData("/broker/\u0001")]
    [InlineData("https://site.example/broker/callback")]
    public void A_callback_path_that_is_not_a_plain_absolute_path_is_refused(string? path)
    {
        RedirectUris.CallbackPathProblem(path).Should().NotBeNull();
    }

    [Fact]
    public void A_callback_path_of_512_characters_is_accepted_and_one_more_is_refused()
    {
        var longest = "/" + new string('a', 511);
        RedirectUris.CallbackPathProblem(longest).Should().BeNull();
        RedirectUris.CallbackPathProblem(longest + "a").Should().NotBeNull();
    }
}
