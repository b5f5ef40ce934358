using System.Text.Json.Nodes;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;

namespace Broker.Registration;

/// <summary>A client just created or changed, with the secrets shown this once (null when none was made).</summary>
public sealed record IssuedClient(Client Client, string? ClientSecret, string? RegistrationAccessToken);

/// <summary>
/// Creates and changes clients from RFC 7591 metadata, for the Okta management API, Auth0 open
/// registration and RFC 7592 alike: one client model, one place that mints secrets.
/// Every change is audited with the actor the endpoint names.
/// </summary>
public sealed class ClientRegistrar(IClientStore clients, IAuditStore audit, TimeProvider time)
{
    /// <summary>Creates a client; null when its name is taken.</summary>
    public async Task<IssuedClient?> CreateAsync(
        ClientMetadata metadata, RegistrationSource source, AuditActor actor, CancellationToken cancellationToken)
    {
        var secret = metadata.UsesSecret ? Secret.NewToken() : null;
        var registrationToken = source == RegistrationSource.Open ? Secret.NewToken() : null;
        var now = time.GetUtcNow();
        var client = new Client
        {
            ClientId = Secret.NewClientId(now),
            Name = metadata.ClientName,
            SecretHash = secret is null ? null : Secret.Hash(secret),
            SecretFingerprint = secret is null ? null : Secret.Fingerprint(secret),
            Source = source,
            RegistrationTokenHash = registrationToken is null ? null : Secret.Hash(registrationToken),
            CreatedAt = now,
        }.WithMetadata(metadata);
        // The client and its audit entry commit together: one write, and never one without the other.
        var entry = actor.Entry(AuditActions.ClientCreated, AuditActions.Client(client.ClientId), client.CreatedAt,
            $"{source.ToString().ToLowerInvariant()} {client.ApplicationType} client");
        return await clients.CreateAsync(client, entry, cancellationToken) ? new IssuedClient(client, secret, registrationToken) : null;
    }

    /// <summary>
    /// Replaces a client's metadata. A secret is minted when the new auth method needs one and the
    /// client had none, and dropped when the new method needs none.
    /// </summary>
    public async Task<(IssuedClient? Issued, WriteOutcome Outcome)> ReplaceAsync(
        Client current, ClientMetadata metadata, AuditActor actor, CancellationToken cancellationToken)
    {
        string? secret = null;
        var replaced = current.WithMetadata(metadata);
        if (!metadata.UsesSecret)
        {
            replaced = replaced with { SecretHash = null, SecretFingerprint = null };
        }
        else if (current.SecretHash is null)
        {
            secret = Secret.NewToken();
            replaced = replaced with { SecretHash = Secret.Hash(secret), SecretFingerprint = Secret.Fingerprint(secret) };
        }
        var outcome = await clients.ReplaceAsync(replaced, cancellationToken);
        if (outcome != WriteOutcome.Done)
        {
            return (null, outcome);
        }
        await AuditAsync(actor, AuditActions.ClientChanged, replaced, "metadata replaced", cancellationToken);
        return (new IssuedClient(replaced, secret, null), outcome);
    }

    /// <summary>A new secret for a client that uses one (Okta lifecycle/newSecret).</summary>
    public async Task<IssuedClient?> NewSecretAsync(Client current, AuditActor actor, CancellationToken cancellationToken)
    {
        var secret = Secret.NewToken();
        var replaced = current with { SecretHash = Secret.Hash(secret), SecretFingerprint = Secret.Fingerprint(secret) };
        if (await clients.ReplaceAsync(replaced, cancellationToken) != WriteOutcome.Done)
        {
            return null;
        }
        await AuditAsync(actor, AuditActions.SecretRotated, replaced, $"new secret ending {replaced.SecretFingerprint}", cancellationToken);
        return new IssuedClient(replaced, secret, null);
    }

    /// <summary>Soft-deletes a client; false when it was already gone.</summary>
    public async Task<bool> DeleteAsync(Client current, AuditActor actor, CancellationToken cancellationToken)
    {
        if (!await clients.DeleteAsync(current.ClientId, time.GetUtcNow(), cancellationToken))
        {
            return false;
        }
        await AuditAsync(actor, AuditActions.ClientDeleted, current, null, cancellationToken);
        return true;
    }

    private Task AuditAsync(AuditActor actor, string action, Client client, string? details, CancellationToken cancellationToken) =>
        audit.AppendAsync(actor.Entry(action, AuditActions.Client(client.ClientId), time.GetUtcNow(), details), cancellationToken);

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
        document["client_name"] = client.Name;
        document["client_uri"] = client.ClientUri;
        document["logo_uri"] = client.LogoUri;
        document["application_type"] = client.ApplicationType;
        document["redirect_uris"] = Array(client.RedirectUris);
        document["post_logout_redirect_uris"] = Array(client.PostLogoutRedirectUris);
        document["response_types"] = Array(client.ResponseTypes);
        document["grant_types"] = Array(client.GrantTypes);
        document["token_endpoint_auth_method"] = client.TokenEndpointAuthMethod;
        document["initiate_login_uri"] = client.InitiateLoginUri;
        document["tos_uri"] = client.TosUri;
        document["policy_uri"] = client.PolicyUri;
        document["contacts"] = Array(client.Contacts);
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

    private static JsonArray Array(IReadOnlyList<string> values) => new([.. values.Select(value => (JsonNode?)JsonValue.Create(value))]);
}
