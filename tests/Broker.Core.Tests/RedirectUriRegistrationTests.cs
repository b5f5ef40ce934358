using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class RedirectUriRegistrationTests
{
    [Theory]
    [InlineData("https://example.com/callback", false)]
    [InlineData("https://example.com/callback", true)]
    [InlineData("https://example.com", false)]
    [InlineData("https://example.com:8443/a/b?keep=1&other=2", false)]
    [InlineData("https://xn--bcher-kva.example/callback", false)]
    [InlineData("https://example.com/path%20with%20space", false)]
    [InlineData("https://127.0.0.1/callback", false)]
    [InlineData("http://127.0.0.1/callback", true)]
    [InlineData("http://127.0.0.1:51004/callback", true)]
    [InlineData("http://[::1]/callback", true)]
    [InlineData("http://[::1]:8080/callback", true)]
    [InlineData("http://localhost/callback", true)]
    [InlineData("com.example.app:/oauth2redirect", true)]
    [InlineData("com.example.app://callback", true)]
    public void Acceptable_redirect_uris_can_be_registered(string uri, bool nativeClient)
    {
        RedirectUris.RegistrationProblem(uri, nativeClient).Should().BeNull();
    }

    [Theory]
    // http off loopback, or for web clients at all.
    [InlineData("http://example.com/callback", false, "https")]
    [InlineData("http://example.com/callback", true, "https")]
    [InlineData("http://127.0.0.1/callback", false, "https")]
    [InlineData("http://localhost:3000/callback", false, "https")]
    [InlineData("http://localhost.example.com/callback", true, "https")]
    [InlineData("http://127.0.0.1.nip.io/callback", true, "https")]
    [InlineData("http://10.0.0.1/callback", true, "https")]
    // Custom schemes: only reverse-DNS names, only for native clients.
    [InlineData("com.example.app:/oauth2redirect", false, "https")]
    [InlineData("myapp://callback", true, "https")]
    [InlineData("javascript:alert(1)", true, "https")]
    [InlineData("data:text/html,hi", true, "https")]
    [InlineData("ftp://example.com/callback", true, "https")]
    // Fragments (RFC 6749 §3.1.2).
    [InlineData("https://example.com/callback#frag", false, "fragment")]
    [InlineData("https://example.com/callback#", false, "fragment")]
    [InlineData("http://127.0.0.1/callback#x", true, "fragment")]
    // User-info, including an empty one that URI parsers drop.
    [InlineData("https://user@example.com/callback", false, "user-info")]
    [InlineData("https://user:pass@example.com/callback", false, "user-info")]
    [InlineData("https://@example.com/callback", false, "user-info")]
    [InlineData("https://:@example.com/callback", false, "user-info")]
    [InlineData("http://evil@127.0.0.1/callback", true, "user-info")]
    // Wildcards: matching is by exact string.
    [InlineData("https://example.com/*", false, "wildcard")]
    [InlineData("https://example.com/callback?x=*", false, "wildcard")]
    // Parameters the authorization response adds.
    [InlineData("https://example.com/callback?code=1", false, "'code'")]
    [InlineData("https://example.com/callback?a=1&state=2", false, "'state'")]
    [InlineData("https://example.com/callback?iss=x", false, "'iss'")]
    [InlineData("https://example.com/callback?error", false, "'error'")]
    [InlineData("https://example.com/callback?%63ode=1", false, "'code'")]
    // Relative or hostless.
    [InlineData("/callback", false, "absolute")]
    [InlineData("callback", false, "absolute")]
    [InlineData("//example.com/callback", false, "absolute")]
    // Not printable ASCII.
    [InlineData("https://bücher.example/callback", false, "ASCII")]
    [InlineData("https://example.com/caf\u00e9", false, "ASCII")]
    [InlineData("https://example.com/a b", false, "ASCII")]
    [InlineData("https://example.com/a\tb", false, "ASCII")]
    [InlineData("https://example.com/\u0000", false, "ASCII")]
    [InlineData(" https://example.com/callback", false, "ASCII")]
    // Missing.
    [InlineData("", false, "required")]
    [InlineData(null, false, "required")]
    public void Unsafe_redirect_uris_are_refused_with_the_rule_they_break(string? uri, bool nativeClient, string reason)
    {
        RedirectUris.RegistrationProblem(uri, nativeClient).Should().NotBeNull().And.Contain(reason);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_redirect_uri_of_2048_characters_is_accepted_and_one_more_is_refused(bool nativeClient)
    {
        var longest = UriOfLength(RedirectUris.MaxLength);
        RedirectUris.RegistrationProblem(longest, nativeClient).Should().BeNull();
        RedirectUris.RegistrationProblem(longest + "a", nativeClient).Should().Contain("at most 2048");
    }

    [Theory]
    [InlineData("https:example.com/callback")]
    [InlineData("https:/example.com/callback")]
    [InlineData("https:///callback")]
    public void Redirect_uris_whose_host_browsers_could_read_differently_are_refused(string uri)
    {
        RedirectUris.RegistrationProblem(uri).Should().NotBeNull();
    }

    [Fact]
    public void Forbidden_parameter_names_are_matched_exactly_not_by_prefix()
    {
        RedirectUris.RegistrationProblem("https://example.com/callback?codex=1&statement=2&issuer=3&errors=4").Should().BeNull();
    }

    internal static string UriOfLength(int length)
    {
        const string prefix = "https://example.com/";
        return prefix + new string('a', length - prefix.Length);
    }
}
