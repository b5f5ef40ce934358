using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Hosting;

namespace Broker.Registration;

/// <summary>A client just created or changed, with the secrets shown this once (null when none was made).</summary>
public sealed record IssuedClient(Client Client, string? ClientSecret, string? RegistrationAccessToken);

/// <summary>
/// Creates and changes clients from RFC 7591 metadata, for the Okta management API, Auth0 open
/// registration and RFC 7592 alike: one client model, one place that mints secrets. Every change is
/// one versioned write with its audit entry, under the actor the endpoint names.
/// </summary>
public sealed class ClientRegistrar(IClientStore clients, TimeProvider time, BrokerTelemetry telemetry)
{
    // A write that keeps losing to other changes gives up after this many tries.
    private const int SaveAttempts = 3;

    // The metadata's properties under their RFC 7591 names, in declaration order.
    private static readonly JsonSerializerOptions MetadataNames = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Creates a client, as <paramref name="vouchedBy"/>'s when a software statement verified; null when its name is taken.</summary>
    public async Task<IssuedClient?> CreateAsync(
        ClientMetadata metadata, RegistrationSource source, AuditActor actor, CancellationToken cancellationToken, TrustedIssuer? vouchedBy = null)
    {
        var secret = metadata.UsesSecret ? Secret.NewToken() : null;
        var registrationToken = source == RegistrationSource.Open ? Secret.NewToken() : null;
        var now = time.GetUtcNow();
        var client = new Client
        {
            ClientId = Secret.NewClientId(now),
            Metadata = metadata,
            SecretHash = secret is null ? null : Secret.Hash(secret),
            SecretFingerprint = secret is null ? null : Secret.Fingerprint(secret),
            Source = source,
            RegistrationTokenHash = registrationToken is null ? null : Secret.Hash(registrationToken),
            CreatedAt = now,
            SoftwareStatementIssuer = vouchedBy?.Issuer,
            SoftwareVendor = vouchedBy?.VendorName,
        };
        // The client and its audit entry commit together: one write, and never one without the other.
        var entry = actor.Entry(AuditActions.ClientCreated, AuditActions.Client(client.ClientId), client.CreatedAt,
            $"{source.ToString().ToLowerInvariant()} {metadata.ApplicationType} client"
                + (vouchedBy is null ? "" : $", software statement of {vouchedBy.Issuer}"));
        var created = await clients.CreateAsync(client, entry, cancellationToken);
        // Only open registration and the Okta API register through here (the platform API makes applications itself).
        telemetry.Registration(source == RegistrationSource.Open ? "open" : "okta", created ? "created" : "name_taken");
        return created ? new IssuedClient(client, secret, registrationToken) : null;
    }

    /// <summary>
    /// Whether another client than <paramref name="exceptClientId"/> holds <paramref name="name"/>: the
    /// unique index a write would meet, asked ahead by a dry-run (a write racing it can still take it).
    /// </summary>
    public async Task<bool> NameInUseAsync(string name, string? exceptClientId, CancellationToken cancellationToken) =>
        (await clients.ListManagedAsync(name, 1, null, cancellationToken)) is [var first]
            && string.Equals(first.Name, name, StringComparison.Ordinal) && first.ClientId != exceptClientId;

    /// <summary>
    /// Replaces a client's metadata. A secret is minted when the new auth method needs one and the
    /// client had none, and dropped when the new method needs none.
    /// </summary>
    public async Task<(IssuedClient? Issued, WriteOutcome Outcome)> ReplaceAsync(
        Client current, ClientMetadata metadata, AuditActor actor, CancellationToken cancellationToken)
    {
        string? secret = null;
        var (saved, outcome) = await SaveLatestAsync(current, stored =>
        {
            secret = null;
            var replaced = stored.WithMetadata(metadata);
            if (!metadata.UsesSecret)
            {
                return replaced with { SecretHash = null, SecretFingerprint = null };
            }
            if (stored.SecretHash is null)
            {
                secret = Secret.NewToken();
                return replaced with { SecretHash = Secret.Hash(secret), SecretFingerprint = Secret.Fingerprint(secret) };
            }
            return replaced;
        }, actor, AuditActions.ClientChanged, _ => "metadata replaced", cancellationToken);
        return saved is not null ? (new IssuedClient(saved, secret, null), outcome) : (null, outcome);
    }

    /// <summary>A new secret for a client that uses one (Okta lifecycle/newSecret).</summary>
    public async Task<IssuedClient?> NewSecretAsync(Client current, AuditActor actor, CancellationToken cancellationToken)
    {
        var secret = Secret.NewToken();
        var (saved, _) = await SaveLatestAsync(current,
            stored => stored with { SecretHash = Secret.Hash(secret), SecretFingerprint = Secret.Fingerprint(secret) },
            actor, AuditActions.SecretRotated, changed => $"new secret ending {changed.SecretFingerprint}", cancellationToken);
        return saved is not null ? new IssuedClient(saved, secret, null) : null;
    }

    /// <summary>Soft-deletes a client; false when it was already gone.</summary>
    public async Task<bool> DeleteAsync(Client current, AuditActor actor, CancellationToken cancellationToken) =>
        (await SaveLatestAsync(current, stored => stored.Deleted(time.GetUtcNow()), actor, AuditActions.ClientDeleted, _ => null, cancellationToken))
            .Outcome == WriteOutcome.Done;

    // The change and its audit entry in one write, if the client is still the version it was read at.
    // These APIs take no If-Match: a change that lost the race to another one (a disable, a revocation,
    // a second PUT) is applied again to what is stored now, as a whole replacement always was, rather
    // than answered as if the client did not exist. A client deleted meanwhile is not found.
    private async Task<(Client? Saved, WriteOutcome Outcome)> SaveLatestAsync(
        Client current, Func<Client, Client> change, AuditActor actor, string action, Func<Client, string?> details,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var changed = change(current);
            var outcome = await clients.SaveAsync(changed, current.Version,
                actor.Entry(action, AuditActions.Client(current.ClientId), time.GetUtcNow(), details(changed)), cancellationToken);
            if (outcome != WriteOutcome.NotFound || attempt == SaveAttempts)
            {
                return (outcome == WriteOutcome.Done ? changed with { Version = current.Version + 1 } : null, outcome);
            }
            var latest = await clients.FindAsync(current.ClientId, cancellationToken);
            if (latest is null || latest.DeletedAt is not null)
            {
                return (null, WriteOutcome.NotFound);
            }
            current = latest;
        }
    }

    /// <summary>
    /// What a dry-run answers: the metadata as it would be stored, defaults filled in, under the
    /// client's id when it exists already; nothing is minted, so no secret or token appears.
    /// </summary>
    public static JsonObject Preview(ClientMetadata metadata, string? clientId = null)
    {
        var document = new JsonObject();
        if (clientId is not null)
        {
            document["client_id"] = clientId;
        }
        AddMetadata(document, metadata);
        return document;
    }

    private static void AddMetadata(JsonObject document, ClientMetadata metadata)
    {
        foreach (var (name, value) in JsonSerializer.SerializeToNode(metadata, MetadataNames)!.AsObject().ToList())
        {
            document[name] = value?.DeepClone();
        }
    }

    /// <summary>
    /// The RFC 7591 / Okta representation of a client. The secret appears only when just minted
    /// (and so only for auth methods that use one).
    /// </summary>
    public static JsonObject Document(IssuedClient issued, string? registrationClientUri = null)
    {
        var client = issued.Client;
        var document = new JsonObject { ["client_id"] = client.ClientId };
        if (issued.ClientSecret is not null)
        {
            document["client_secret"] = issued.ClientSecret;
        }
        document["client_id_issued_at"] = client.CreatedAt.ToUnixTimeSeconds();
        if (issued.ClientSecret is not null)
        {
            document["client_secret_expires_at"] = 0;
        }
        AddMetadata(document, client.Metadata);
        if (issued.RegistrationAccessToken is not null)
        {
            document["registration_access_token"] = issued.RegistrationAccessToken;
        }
        if (registrationClientUri is not null)
        {
            document["registration_client_uri"] = registrationClientUri;
        }
        return document;
    }
}
