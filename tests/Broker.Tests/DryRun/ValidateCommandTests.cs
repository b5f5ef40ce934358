using System.Text.Json;
using Broker.Cli;
using Broker.Hosting;

namespace Broker.Tests.DryRun;

/// <summary><c>clients validate FILE</c>: the server's reader and rules on a file, every refusal listed, nothing written.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"broker-validate-{Guid.NewGuid():N}.json");

    public void Dispose() => File.Delete(file);

    private async Task<(int Exit, string Output, string Error)> ValidateAsync(string json, params string[] options)
    {
        await File.WriteAllTextAsync(file, json);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await BrokerCli.RunAsync(["clients", "validate", file, .. options], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task A_valid_file_exits_0_and_prints_the_client_with_its_defaults()
    {
        var (exit, output, _) = await ValidateAsync("""{"client_name":"Cli","redirect_uris":["https://app.example/cb"]}""", "--json");

        exit.Should().Be(ExitCodes.Ok);
        var client = JsonDocument.Parse(output).RootElement;
        client.GetProperty("token_endpoint_auth_method").GetString().Should().Be("client_secret_basic", "the management API's default");
    }

    [Fact]
    public async Task Open_registration_rules_apply_with_the_flag_and_every_refusal_is_listed_with_exit_2()
    {
        const string json = """{"client_name":"Cli","redirect_uris":["http://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}""";

        var (exit, output, _) = await ValidateAsync(json, "--open-registration", "--json");

        exit.Should().Be(ExitCodes.BadInput);
        var refusals = JsonDocument.Parse(output).RootElement.GetProperty("refusals").EnumerateArray()
            .Select(r => (r.GetProperty("field").GetString(), r.GetProperty("rule").GetString()));
        refusals.Should().Equal(("/token_endpoint_auth_method", "token_endpoint_auth_method"), ("/redirect_uris/0", "redirect_uri"));
        // As the management API judges it, client_secret_basic is fine: only the redirect URI is refused.
        var (_, text, _) = await ValidateAsync(json);
        text.Should().Contain("/redirect_uris/0: redirect_uris:").And.Contain("hint: ").And.EndWith("1 refusal\n");
    }

    [Fact]
    public async Task A_file_that_is_not_json_is_one_error_line_and_exit_2()
    {
        var (exit, output, error) = await ValidateAsync("{\"client_name\": ");

        exit.Should().Be(ExitCodes.BadInput);
        output.Should().BeEmpty();
        error.Trim().Should().StartWith("error: ").And.Contain("not well-formed JSON");
    }
}
