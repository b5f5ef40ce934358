using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

/// <summary>Trusted issuers of software statements, and the vendor a verified client carries, on every provider.</summary>
public abstract partial class StoreContract
{
    protected TrustedIssuerStore TrustedIssuers => new(Database);

    private TrustedIssuer Issuer(string name = "https://vendor.example") =>
        new() { Issuer = name, VendorName = "Vendor Ltd", Jwks = """{"keys":[]}""", CreatedAt = Now };

    [SkippableFact]
    public async Task A_trusted_issuer_is_stored_once_with_its_audit_entry_and_a_second_add_writes_nothing()
    {
        (await TrustedIssuers.CreateAsync(Issuer(), Entry(AuditActions.TrustedIssuerAdded, "trusted-issuer:x"))).Should().BeTrue();

        (await TrustedIssuers.CreateAsync(Issuer() with { VendorName = "Impostor" }, Entry(AuditActions.TrustedIssuerAdded, "trusted-issuer:x"))).Should().BeFalse();

        (await TrustedIssuers.FindAsync("https://vendor.example")).Should().BeEquivalentTo(Issuer() with { CreatedAt = ToMilliseconds(Now) });
        (await TrustedIssuers.FindAsync("https://VENDOR.example")).Should().BeNull("issuers compare by exact string");
        (await TrustedIssuers.ListAsync()).Should().ContainSingle();
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableFact]
    public async Task Of_racing_adds_of_one_issuer_exactly_one_wins()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            TrustedIssuers.CreateAsync(Issuer() with { VendorName = $"Vendor {i}" }, Entry(AuditActions.TrustedIssuerAdded, "trusted-issuer:x"))));

        outcomes.Count(won => won).Should().Be(1);
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableFact]
    public async Task Removing_an_issuer_deletes_it_once_with_its_entry()
    {
        await TrustedIssuers.CreateAsync(Issuer(), Entry(AuditActions.TrustedIssuerAdded, "trusted-issuer:x"));

        (await TrustedIssuers.DeleteAsync("https://vendor.example", Entry(AuditActions.TrustedIssuerRemoved, "trusted-issuer:x"))).Should().BeTrue();
        (await TrustedIssuers.DeleteAsync("https://vendor.example", Entry(AuditActions.TrustedIssuerRemoved, "trusted-issuer:x"))).Should().BeFalse();

        (await TrustedIssuers.FindAsync("https://vendor.example")).Should().BeNull();
        (await AuditCountAsync()).Should().Be(2);
    }

    [SkippableFact]
    public async Task A_client_keeps_the_issuer_and_vendor_of_its_verified_statement()
    {
        var client = new Client
        {
            ClientId = Core.Security.Secret.NewClientId(Now),
            Metadata = new ClientMetadata { ClientName = "Signed app", RedirectUris = ["https://app.example/cb"] },
            Source = RegistrationSource.Open,
            CreatedAt = Now,
            SoftwareStatementIssuer = "https://vendor.example",
            SoftwareVendor = "Vendor Ltd",
        };

        (await Clients.CreateAsync(client, Entry(AuditActions.ClientCreated))).Should().BeTrue();

        var read = (await Clients.FindAsync(client.ClientId))!;
        read.SoftwareStatementIssuer.Should().Be("https://vendor.example");
        read.SoftwareVendor.Should().Be("Vendor Ltd");
    }
}
