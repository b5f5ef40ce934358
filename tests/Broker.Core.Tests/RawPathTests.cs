using Broker.Core.Clients;

namespace Broker.Core.Tests;

/// <summary>
/// The installation policy compares the callback path as written (RFC 9700 §4.1.3): spellings that
/// .NET's Uri canonicalises to the callback path are refused, and so are such callback paths.
/// </summary>
public sealed class RawPathTests
{
    [Theory]
    [InlineData("https://site.example/%63b", "percent-encode")]
    [InlineData("https://site.example/%63%62", "percent-encode")]
    [InlineData("https://site.example/x/../cb", "'..'")]
    [InlineData("https://site.example/./cb", "'.'")]
    [InlineData("https://site.example/cb/.", "'.'")]
    [InlineData("https://site.example/%2e/cb", "percent-encode")]
    [InlineData("https://site.example/x/%2E%2E/cb", "percent-encode")]
    [InlineData("https://site.example/c%2Db", "percent-encode")]
    [InlineData("https://site.example/c%7eb", "percent-encode")]
    [InlineData("https://site.example/cb%", "malformed")]
    [InlineData("https://site.example/cb%zz", "malformed")]
    [InlineData("https://site.example/x\\..\\cb", "backslash")]
    [InlineData("https://site.example\\cb", "redirect URI")]
    [InlineData("https://site.example//cb", "path")]
    [InlineData("https://site.example\\x/cb", "redirect URI")]
    [InlineData("https://site.example\\/cb", "redirect URI")]
    [InlineData("https://site.example:443\\x/cb", "redirect URI")]
    [InlineData("https://site.example/CB", "path")]
    public void A_redirect_uri_whose_path_only_canonicalises_to_the_callback_path_is_refused(string requested, string reason)
    {
        RedirectUris.InstallationProblem(requested, "/cb").Should().NotBeNull().And.Contain(reason);
    }

    [Theory]
    [InlineData("https://site.example/cb")]
    [InlineData("https://site.example/cb?x=%63")]
    [InlineData("https://site.example:8443/cb?next=/x/../y")]
    public void The_callback_path_as_written_is_accepted(string requested)
    {
        RedirectUris.InstallationProblem(requested, "/cb").Should().BeNull();
    }

    [Fact]
    public void A_callback_path_with_a_reserved_character_escaped_is_matched_as_written()
    {
        RedirectUris.InstallationProblem("https://site.example/a%2Fb", "/a%2Fb").Should().BeNull();
        RedirectUris.InstallationProblem("https://site.example/a%2fb", "/a%2Fb").Should().Contain("path");
    }

    [Theory]
    [InlineData("/x/../cb")]
    [InlineData("/./cb")]
    [InlineData("/cb/..")]
    [InlineData("/%63b")]
    [InlineData("/c%2eb")]
    [InlineData("/cb%")]
    [InlineData("/cb%4")]
    [InlineData("/x\\cb")]
    public void A_callback_path_with_more_than_one_spelling_cannot_be_registered(string path)
    {
        RedirectUris.CallbackPathProblem(path).Should().NotBeNull().And.StartWith("the callback path");
    }

    [Theory]
    [InlineData("https://vendor.example/broker/callback?x=1", "/broker/callback")]
    [InlineData("https://vendor.example/x/../cb", "/x/../cb")]
    [InlineData("https://vendor.example", "")]
    [InlineData("https://vendor.example?x=1", "")]
    [InlineData("https://vendor.example/%63b#f", "/%63b")]
    [InlineData("https://vendor.example\\x/cb", "\\x/cb")]
    public void The_raw_path_is_the_path_as_written(string uri, string path)
    {
        RedirectUris.RawPath(uri).Should().Be(path);
    }
}
