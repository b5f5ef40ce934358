using System.Text.Json;
using Broker.Core.Authorization;
using Broker.Core.Security;

namespace Broker.Core.Clients;

/// <summary>
/// The fields of a client document only the server sets (<c>client_id</c>, <c>client_secret</c>,
/// <c>client_id_issued_at</c>, <c>client_secret_expires_at</c>, <c>registration_access_token</c>,
/// <c>registration_client_uri</c>), as a full-replace <c>PUT</c> may carry them: the Okta API's and
/// RFC 7592's alike. A caller echoing what it read (or leaving a field out) is fine; a value other
/// than the stored one would overwrite what only the server decides, and is refused.
/// </summary>
public static class ServerControlledFields
{
    public static readonly ValidationRule ServerSetField = new("server_set_field", "RFC 7592 §2.2",
        "leave the field out, or send back exactly what GET returned", OAuthErrors.InvalidRequest);

    /// <summary>
    /// Why <paramref name="document"/> may not replace <paramref name="stored"/>, or null. The
    /// expected <paramref name="registrationClientUri"/> is null for a client managed without one;
    /// <paramref name="clientIdRequired"/> is RFC 7592's rule that the body names its client.
    /// </summary>
    public static OAuthError? Problem(JsonElement document, Client stored, string? registrationClientUri, bool clientIdRequired) =>
        Refusals(document, stored, registrationClientUri, clientIdRequired) is [var first, ..] ? first.Error : null;

    /// <summary>Every server-set field <paramref name="document"/> would change, in the order <see cref="Problem"/> meets them.</summary>
    public static IReadOnlyList<Refusal> Refusals(JsonElement document, Client stored, string? registrationClientUri, bool clientIdRequired)
    {
        if (document.ValueKind != JsonValueKind.Object)
        {
            // The metadata rules refuse a body that is not an object, naming the problem.
            return [];
        }
        var refusals = new List<Refusal>();
        // Reject a body naming another client (RFC 7592 §2.2): it would overwrite the one in the path.
        var clientId = Field(document, "client_id", out var clientIdBad);
        if (clientIdBad || (clientId is null ? clientIdRequired : !string.Equals(clientId, stored.ClientId, StringComparison.Ordinal)))
        {
            refusals.Add(Refuse("client_id", "client_id in the body must match the client being updated"));
        }
        // Reject a secret other than the current one: a caller never chooses its own (RFC 7592 §2.2).
        var secret = Field(document, "client_secret", out var secretBad);
        if (secretBad || (secret is not null && !Secret.Matches(secret, stored.SecretHash)))
        {
            refusals.Add(Refuse("client_secret", "client_secret, when sent, must be the current secret"));
        }
        // Reject a registration token other than the client's own.
        var registrationToken = Field(document, "registration_access_token", out var tokenBad);
        if (tokenBad || (registrationToken is not null && !Secret.Matches(registrationToken, stored.RegistrationTokenHash)))
        {
            refusals.Add(Refuse("registration_access_token", "registration_access_token, when sent, must be the client's current one"));
        }
        var registrationUri = Field(document, "registration_client_uri", out var uriBad);
        if (uriBad || (registrationUri is not null && !string.Equals(registrationUri, registrationClientUri, StringComparison.Ordinal)))
        {
            refusals.Add(Refuse("registration_client_uri", "registration_client_uri, when sent, must be the client's own"));
        }
        // Reject changed times: the server set them and they describe what happened.
        if (!TimeMatches(document, "client_id_issued_at", stored.CreatedAt.ToUnixTimeSeconds()))
        {
            refusals.Add(Refuse("client_id_issued_at", "client_id_issued_at, when sent, must be the time the client was issued"));
        }
        // Secrets never expire here (0, as every document shows it).
        if (!TimeMatches(document, "client_secret_expires_at", 0))
        {
            refusals.Add(Refuse("client_secret_expires_at", "client_secret_expires_at, when sent, must be 0: client secrets do not expire"));
        }
        return refusals;
    }

    private static Refusal Refuse(string field, string description) => ServerSetField.Refuse(Refusal.FieldPath(field), description);

    // A string field: absent or null → null; another kind or invalid Unicode → bad.
    private static string? Field(JsonElement document, string name, out bool bad)
    {
        bad = false;
        if (!document.TryGetProperty(name, out var value))
        {
            return null;
        }
        bad = !JsonText.TryGetString(value, out var text);
        return text;
    }

    // A time field: absent, null or the stored whole number of seconds.
    private static bool TimeMatches(JsonElement document, string name, long stored) =>
        !document.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null
        || (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds) && seconds == stored);
}
