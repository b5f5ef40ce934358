using Broker.Core.Authorization;
using Broker.Core.Clients;

namespace Broker.Core.Tests;

/// <summary>Host normalisation: every spelling of an internal host is caught, public hosts pass.</summary>
public sealed class InternetHostTests
{
    [Theory]
    [InlineData("https://127.0.0.1./x")]
    [InlineData("https://127.0.0.1../x")]
    [InlineData("https://localhost./x")]
    [InlineData("https://LOCALHOST/x")]
    [InlineData("https://foo.localhost./x")]
    [InlineData("https://169.254.169.254./latest/meta-data")]
    [InlineData("https://10.0.0.1./x")]
    [InlineData("https://127.1/x")]
    [InlineData("https://127.0.1/x")]
    [InlineData("https://2130706433/x")]
    [InlineData("https://0x7f000001/x")]
    [InlineData("https://0x7f.1/x")]
    [InlineData("https://0177.0.0.1/x")]
    [InlineData("https://017700000001/x")]
    [InlineData("https://0/x")]
    [InlineData("https://0.0.0.0/x")]
    [InlineData("https://10.1/x")]
    [InlineData("https://012.0.0.1/x")]
    [InlineData("https://0xa9.0xfe.0xa9.0xfe/x")]
    [InlineData("https://192.168.1/x")]
    [InlineData("https://100.64.0.1/x")]
    [InlineData("https://224.0.0.1/x")]
    [InlineData("https://[::1]/x")]
    [InlineData("https://[0:0:0:0:0:0:0:1]/x")]
    [InlineData("https://[::]/x")]
    [InlineData("https://[::ffff:10.0.0.1]/x")]
    [InlineData("https://[::ffff:a00:1]/x")]
    [InlineData("https://[::ffff:127.0.0.1]:8443/x")]
    [InlineData("https://[::10.0.0.1]/x")]
    [InlineData("https://[fe80::1]/x")]
    [InlineData("https://[fd12:3456::1]/x")]
    [InlineData("https://[ff02::1]/x")]
    [InlineData("https://127.0.0.1.:443/x")]
    [InlineData("https://[64:ff9b::10.0.0.1]/x")]
    [InlineData("https://[64:ff9b::a9fe:a9fe]/x")]
    [InlineData("https://[2002:7f00:1::1]/x")]
    [InlineData("https://[2002:c0a8:0101::]/x")]
    public void Internal_hosts_are_refused_however_they_are_spelled(string uri)
    {
        ClientMetadataRules.InformationUriProblem("logo_uri", uri).Should().NotBeNull().And.Contain("logo_uri");
    }

    [Theory]
    [InlineData("https://1.2.3.999/x")]
    [InlineData("https://1.2.3.4.5/x")]
    [InlineData("https://foo.1/x")]
    [InlineData("https://08.0.0.1/x")]
    [InlineData("https://%31%32%37.0.0.1/x")]
    [InlineData("https://./x")]
    public void Hosts_a_browser_would_not_read_as_one_host_are_refused(string uri)
    {
        ClientMetadataRules.InformationUriProblem("logo_uri", uri).Should().NotBeNull();
    }

    [Theory]
    [InlineData("https://app.example/logo.png")]
    [InlineData("https://app.example./logo.png")]
    [InlineData("https://xn--bcher-kva.example/logo.png")]
    [InlineData("https://8.8.8.8/x")]
    [InlineData("https://[2001:db8::1]/x")]
    [InlineData("https://[64:ff9b::808:808]/x")]
    [InlineData("https://[2002:0808:0808::1]/x")]
    [InlineData("https://localhost.app.example/x")]
    [InlineData("https://1e100.net/x")]
    public void Public_hosts_are_accepted(string uri)
    {
        ClientMetadataRules.InformationUriProblem("logo_uri", uri).Should().BeNull();
    }

    [Theory]
    [InlineData("127.0.0.1.", "127.0.0.1")]
    [InlineData("0x7f.1", "127.0.0.1")]
    [InlineData("2130706433", "127.0.0.1")]
    [InlineData("0177.0.0.01", "127.0.0.1")]
    [InlineData("Example.COM..", "example.com")]
    [InlineData("[::FFFF:10.0.0.1]", "::ffff:10.0.0.1")]
    public void A_host_is_normalised_once_to_one_form(string written, string normalised)
    {
        InternetHost.Parse(written)!.Name.Should().Be(normalised);
    }

    [Fact]
    public void The_registration_rules_use_the_same_check()
    {
        using var document = System.Text.Json.JsonDocument.Parse(
            """{"client_name":"App","redirect_uris":["https://app.example/cb"],"tos_uri":"https://169.254.169.254./"}""");
        ClientMetadataRules.Validate(document.RootElement, MetadataContract.OktaCreate).Error!.Error.Should().Be(OAuthErrors.InvalidClientMetadata);
    }
}
