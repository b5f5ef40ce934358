using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Registration;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Broker.Tests;

/// <summary>
/// The Okta and RFC 7592 writes take no If-Match: one that loses the race to another change of the same
/// client (read, then changed by someone else, then written) is applied to what is stored now instead of
/// being answered as if the client did not exist, and never undoes the other change.
/// </summary>
public sealed class ClientRegistrarRaceTests
{
    [Fact]
    public async Task A_replace_that_lost_the_race_to_a_disable_is_applied_to_the_latest_client_and_keeps_it_disabled()
    {
        using var broker = new BrokerFactory();
        var registrar = broker.Services.GetRequiredService<ClientRegistrar>();
        var clients = broker.Services.GetRequiredService<IClientStore>();
        var metadata = new ClientMetadata { ClientName = "Raced", RedirectUris = ["https://app.example/cb"] };
        var created = (await registrar.CreateAsync(metadata, RegistrationSource.Admin, AuditActor.CommandLine, CancellationToken.None))!.Client;
        var readBeforeTheDisable = (await clients.FindAsync(created.ClientId))!;

        var disabled = readBeforeTheDisable with { DisabledAt = DateTimeOffset.UtcNow };
        (await clients.SaveAsync(disabled, readBeforeTheDisable.Version)).Should().Be(WriteOutcome.Done);

        var (issued, outcome) = await registrar.ReplaceAsync(
            readBeforeTheDisable, metadata with { ClientName = "Renamed" }, AuditActor.CommandLine, CancellationToken.None);

        outcome.Should().Be(WriteOutcome.Done);
        issued!.Client.Name.Should().Be("Renamed");
        var stored = (await clients.FindAsync(created.ClientId))!;
        stored.Name.Should().Be("Renamed");
        stored.DisabledAt.Should().NotBeNull("the replace must not undo the disable it raced with");
        stored.Version.Should().Be(readBeforeTheDisable.Version + 2);
    }

    [Fact]
    public async Task A_delete_that_lost_the_race_to_another_delete_finds_nothing_left_to_delete()
    {
        using var broker = new BrokerFactory();
        var registrar = broker.Services.GetRequiredService<ClientRegistrar>();
        var clients = broker.Services.GetRequiredService<IClientStore>();
        var metadata = new ClientMetadata { ClientName = "Doomed", RedirectUris = ["https://app.example/cb"] };
        var created = (await registrar.CreateAsync(metadata, RegistrationSource.Admin, AuditActor.CommandLine, CancellationToken.None))!.Client;

        (await registrar.DeleteAsync(created, AuditActor.CommandLine, CancellationToken.None)).Should().BeTrue();
        (await registrar.DeleteAsync(created, AuditActor.CommandLine, CancellationToken.None)).Should().BeFalse();
    }
}
