using System.CommandLine;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;

namespace Broker.Cli;

public static partial class BrokerCli
{
    // trusted-issuers add/list/remove: the platform team's issuers of software statements, on the database directly.
    private static Command TrustedIssuersCommand(TextWriter output, TextWriter error)
    {
        var issuer = new Option<string>("--issuer") { Description = "The statements' iss, exactly as they carry it.", Required = true };
        var vendor = new Option<string>("--vendor") { Description = "The vendor's name, shown on the consent page.", Required = true };
        var jwks = new Option<FileInfo>("--jwks") { Description = "A file holding the issuer's public keys as a JWK Set (RFC 7517).", Required = true };
        var json = JsonOption();
        var add = new Command("add", "Trust software statements signed by an issuer's keys.") { issuer, vendor, jwks, json };
        add.SetAction(async (parse, cancellationToken) =>
        {
            string keys;
            try
            {
                keys = await File.ReadAllTextAsync(parse.GetValue(jwks)!.FullName, cancellationToken);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return await FailAsync(error, $"cannot read {parse.GetValue(jwks)!.FullName}: {exception.Message}");
            }
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<PlatformAdministration>().AddTrustedIssuerAsync(
                parse.GetValue(issuer), parse.GetValue(vendor), keys, AuditActor.CommandLine, cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            await WriteAsync(output, parse.GetValue(json), new { issuer = result.Value!.Issuer, vendor_name = result.Value.VendorName },
                $"Trusted issuer {result.Value.Issuer} ({result.Value.VendorName}).");
            return 0;
        });
        var list = new Command("list", "The trusted issuers.") { json };
        list.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await MigratedServicesAsync(cancellationToken);
            var issuers = await services.GetRequiredService<ITrustedIssuerStore>().ListAsync(cancellationToken);
            await WriteAsync(output, parse.GetValue(json), issuers.Select(i => new { issuer = i.Issuer, vendor_name = i.VendorName, created_at = i.CreatedAt }),
                issuers.Count == 0 ? "No trusted issuers." : string.Join('\n', issuers.Select(i => $"{i.Issuer}  {i.VendorName}")));
            return 0;
        });
        var removeIssuer = new Option<string>("--issuer") { Description = "The issuer to stop trusting.", Required = true };
        var remove = new Command("remove", "Stop trusting an issuer's statements (clients registered with them keep their label).") { removeIssuer };
        remove.SetAction(async (parse, cancellationToken) =>
        {
            await using var services = await MigratedServicesAsync(cancellationToken);
            var result = await services.GetRequiredService<PlatformAdministration>().RemoveTrustedIssuerAsync(
                parse.GetValue(removeIssuer)!, AuditActor.CommandLine, cancellationToken);
            if (result.Problem is not null)
            {
                return await FailAsync(error, result.Problem);
            }
            await output.WriteLineAsync($"No longer trusted: {parse.GetValue(removeIssuer)}");
            return 0;
        });
        return new Command("trusted-issuers", "Issuers of software statements (RFC 7591 §2.3).") { add, list, remove };
    }
}
