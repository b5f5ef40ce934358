using Broker.Hosting;
using System.Text.Json.Serialization;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;

namespace Broker.Platform;

/// <summary>
/// A client as the platform team sees it: never a secret, only its fingerprint. <c>owner_user_id</c> is
/// the site owner of a child and the vendor of a parent (null: none named).
/// </summary>
public sealed record ClientView(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("secret_fingerprint")] string? SecretFingerprint,
    [property: JsonPropertyName("previous_secret_expires_at")] DateTimeOffset? PreviousSecretExpiresAt,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("last_used_at")] DateTimeOffset? LastUsedAt,
    [property: JsonPropertyName("disabled_at")] DateTimeOffset? DisabledAt,
    [property: JsonPropertyName("revoked_at")] DateTimeOffset? RevokedAt,
    [property: JsonPropertyName("version")] long Version,
    [property: JsonPropertyName("redirect_uris")] IReadOnlyList<string> RedirectUris,
    [property: JsonPropertyName("redirect_policy")] string RedirectPolicy,
    [property: JsonPropertyName("callback_path")] string? CallbackPath,
    [property: JsonPropertyName("child_rate_limit")] int? ChildRateLimit,
    [property: JsonPropertyName("child_endpoints")] IReadOnlyList<string>? ChildEndpoints,
    [property: JsonPropertyName("parent_client_id")] string? ParentClientId,
    [property: JsonPropertyName("owner_user_id")] string? OwnerUserId,
    [property: JsonPropertyName("origin")] string? Origin,
    [property: JsonPropertyName("rate_limit")] int? RateLimit,
    [property: JsonPropertyName("endpoints")] IReadOnlyList<string>? Endpoints)
{
    public static ClientView From(Client client)
    {
        // Every client but a parent matches redirect URIs exactly.
        var parent = client.Role as ParentRole;
        var installation = client.Role as InstallationRole;
        return new(
            client.ClientId, client.Name, client.Role.Kind.ToString().ToLowerInvariant(),
            client.RevokedAt is not null ? "revoked" : client.DisabledAt is not null ? "disabled" : "active",
            client.SecretFingerprint, client.PreviousSecretExpiresAt, client.CreatedAt, client.LastUsedAt, client.DisabledAt,
            client.RevokedAt, client.Version, client.Metadata.RedirectUris,
            (parent?.RedirectPolicy ?? Core.Clients.RedirectPolicy.Exact).ToString().ToLowerInvariant(), parent?.CallbackPath,
            parent?.ChildRateLimit, parent?.ChildEndpoints, installation?.ParentClientId, installation?.OwnerUserId ?? parent?.OwnerUserId,
            installation?.Origin, installation?.RateLimit, installation?.Endpoints);
    }
}

/// <summary>A newly rotated secret, shown once.</summary>
public sealed record RotatedSecretView(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("secret_fingerprint")] string? SecretFingerprint,
    [property: JsonPropertyName("previous_secret_expires_at")] DateTimeOffset? PreviousSecretExpiresAt);

public sealed record UserView(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("email")] string Email,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("disabled_at")] DateTimeOffset? DisabledAt)
{
    public static UserView From(User user) =>
        new(user.UserId, user.Email, user.DisabledAt is null ? "active" : "disabled", user.CreatedAt, user.DisabledAt);
}

public sealed record UserDisabledView(
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("children_disabled")] int ChildrenDisabled);

public sealed record AdminTokenView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("fingerprint")] string Fingerprint,
    [property: JsonPropertyName("scopes")] IReadOnlyList<string> Scopes,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("last_used_at")] DateTimeOffset? LastUsedAt,
    [property: JsonPropertyName("revoked_at")] DateTimeOffset? RevokedAt)
{
    public static AdminTokenView From(AdminToken token) => new(
        token.TokenId, token.Name, token.Fingerprint, token.Scopes, token.RevokedAt is null ? "active" : "revoked",
        token.CreatedAt, token.LastUsedAt, token.RevokedAt);
}

public sealed record AuditEntryView(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("actor")] string Actor,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("source_address")] string? SourceAddress,
    [property: JsonPropertyName("request_id")] string? RequestId,
    [property: JsonPropertyName("details")] string? Details)
{
    public static AuditEntryView From(AuditEntry entry) => new(
        entry.Id, entry.At, entry.Actor, entry.Action, entry.Target, entry.SourceAddress, entry.RequestId, entry.Details);
}

/// <summary>One page of a listing; pass <see cref="Next"/> as <c>after</c> for the following page.</summary>
public sealed record PageView<T>(
    [property: JsonPropertyName("items")] IReadOnlyList<T> Items,
    [property: JsonPropertyName("next")] string? Next);

/// <summary>
/// The body of <c>PUT /admin/v1/parents/{client_id}</c> (every field required: a full replacement) and of
/// <c>PATCH</c> (an RFC 7396 merge patch: a field left out stays), for the API description. <c>null</c>
/// names a setting's default: <c>installation</c>, the first redirect URI's path, <c>Installation:DefaultChildRateLimit</c>, the four default
/// endpoints. Read by hand, to tell a field left out from null.
/// </summary>
public sealed record ParentSettingsRequest(
    [property: JsonPropertyName("redirect_policy")] string? RedirectPolicy,
    [property: JsonPropertyName("callback_path")] string? CallbackPath,
    [property: JsonPropertyName("child_rate_limit")] int? ChildRateLimit,
    [property: JsonPropertyName("child_endpoints")] IReadOnlyList<string>? ChildEndpoints);

/// <summary>
/// The body of <c>PUT /admin/v1/parents/{client_id}/owner</c>: the vendor's account by exactly one of its
/// e-mail or its user id. <c>DELETE</c> on the same path removes the vendor.
/// </summary>
public sealed record ParentOwnerRequest(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("user_id")] string? UserId);

/// <summary>
/// The body of <c>PATCH /admin/v1/children/{client_id}</c>, for the API description: a field left out
/// is unchanged, <c>null</c> inherits the parent's live setting (read by hand, to tell the two apart).
/// </summary>
public sealed record ChildLimitsRequest(
    [property: JsonPropertyName("rate_limit")] int? RateLimit,
    [property: JsonPropertyName("endpoints")] IReadOnlyList<string>? Endpoints);

/// <summary>A trusted issuer of software statements; its keys as the JWK Set it was given.</summary>
public sealed record TrustedIssuerView(
    [property: JsonPropertyName("issuer")] string Issuer,
    [property: JsonPropertyName("vendor_name")] string VendorName,
    [property: JsonPropertyName("jwks")] System.Text.Json.JsonElement Jwks,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt)
{
    public static TrustedIssuerView From(Core.Clients.TrustedIssuer issuer) =>
        new(issuer.Issuer, issuer.VendorName, System.Text.Json.JsonDocument.Parse(issuer.Jwks).RootElement.Clone(), issuer.CreatedAt);
}

public sealed record TrustedIssuerRequest(
    [property: JsonPropertyName("issuer")] string? Issuer,
    [property: JsonPropertyName("vendor_name")] string? VendorName,
    [property: JsonPropertyName("jwks")] System.Text.Json.JsonElement? Jwks);
