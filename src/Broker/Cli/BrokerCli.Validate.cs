using System.CommandLine;
using System.Text.Json;
using Broker.Core.Clients;
using Broker.Hosting;
using Broker.Http;
using Broker.Registration;

namespace Broker.Cli;

public static partial class BrokerCli
{
    // clients validate FILE: the dry-run of the metadata rules without a server, before a registration is sent.
    private static Command ClientsCommand(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A JSON document of RFC 7591 client metadata." };
        var openRegistration = new Option<bool>("--open-registration")
        {
            Description = "Judge it as POST /oidc/register would (default: as POST /oauth2/v1/clients).",
        };
        var json = JsonOption();
        var validate = new Command("validate",
            "Run every client metadata rule on FILE and list every refusal (field, rule, reference, hint); writes nothing. " +
            "Exit 0: valid, and the client as it would be stored is printed; 2: refused.")
        {
            file, openRegistration, json,
        };
        validate.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            JsonDocument? document;
            string? problem;
            try
            {
                await using var stream = path.OpenRead();
                (document, problem) = await RequestJson.TryParseAsync(stream, cancellationToken);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return await FailAsync(error, $"cannot read {path.FullName}: {exception.Message}");
            }
            if (document is null)
            {
                return await FailAsync(error, $"{path.Name}: {problem}");
            }
            using (document)
            {
                var contract = parse.GetValue(openRegistration) ? MetadataContract.OpenRegistration : MetadataContract.OktaCreate;
                var check = ClientMetadataRules.Check(document.RootElement, contract);
                if (check.Refusals.Count == 0)
                {
                    var preview = ClientRegistrar.Preview(check.Metadata!).ToJsonString(Json);
                    await output.WriteLineAsync(parse.GetValue(json) ? preview : $"valid: the client would be stored as\n{preview}");
                    return ExitCodes.Ok;
                }
                var refusals = DryRun.Bodies(check.Refusals);
                await WriteAsync(output, parse.GetValue(json), new { refusals }, string.Join('\n', refusals.Select(refusal =>
                    $"{(refusal.Field.Length == 0 ? "(body)" : refusal.Field)}: {refusal.ErrorDescription} [{refusal.Rule}; {refusal.Reference}]\n    hint: {refusal.Hint}"))
                    + $"\n{refusals.Count} refusal{(refusals.Count == 1 ? "" : "s")}");
                return ExitCodes.BadInput;
            }
        });
        return new Command("clients", "Registered clients' metadata.") { validate };
    }
}
