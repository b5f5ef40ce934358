using Broker.Core.Clients;
using Broker.Core.Platform;

namespace Broker.Core.Webhooks;

/// <summary>
/// A receiver of the audit log. The log is the outbox: <see cref="Cursor"/> is the id of the last entry
/// this subscription is done with (delivered, or not of its event types), so nothing is written for a
/// subscription in the transaction of the change an entry records, and a crash loses nothing.
/// </summary>
public sealed record WebhookSubscription
{
    public required string Id { get; init; }

    public required string Url { get; init; }

    /// <summary>Audit actions delivered (<see cref="AuditActions"/>); empty means every action.</summary>
    public required IReadOnlyList<string> EventTypes { get; init; }

    /// <summary>The signing secret (<c>whsec_…</c>), protected by the key ring as stored.</summary>
    public required string ProtectedSecret { get; init; }

    /// <summary>The secret a rotation replaced: deliveries are signed with both until it expires.</summary>
    public string? PreviousProtectedSecret { get; init; }

    public DateTimeOffset? PreviousSecretExpiresAt { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The id of the last audit entry this subscription is done with.</summary>
    public long Cursor { get; init; }

    /// <summary>Failed attempts at the entry after <see cref="Cursor"/>, since it last succeeded.</summary>
    public int Failures { get; init; }

    /// <summary>Why the last attempt failed (a status code or a connection error); never a secret.</summary>
    public string? LastError { get; init; }

    /// <summary>Set when the attempts ran out: nothing is delivered until a replay.</summary>
    public DateTimeOffset? ParkedAt { get; init; }

    public bool Matches(string action) => EventTypes.Count == 0 || EventTypes.Contains(action, StringComparer.Ordinal);
}

/// <summary>What a subscription may name. One home for the checks of the admin API and the command line.</summary>
public static class WebhookRules
{
    public const int MaxEventTypes = 50;

    public const string SecretPrefix = "whsec_";

    /// <summary>Every audit action a subscription may name.</summary>
    public static IReadOnlyList<string> EventTypes => AuditActions.All;

    /// <summary>Why <paramref name="url"/> cannot receive deliveries, or null.</summary>
    /// <param name="allowInternal">Configuration allows internal addresses and plain http (tests, a private network).</param>
    public static string? UrlProblem(string? url, bool allowInternal)
    {
        // Reject what is not an absolute http(s) URL of reasonable length.
        if (string.IsNullOrEmpty(url) || url.Length > RedirectUris.MaxLength
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            return "url must be an absolute https URL";
        }
        // Reject plain http: the events and their signatures would travel in clear.
        if (uri.Scheme == "http" && !allowInternal)
        {
            return "url must use https";
        }
        // Reject user-info and fragments: credentials in a URL leak into logs, a fragment is never sent.
        if (uri.UserInfo.Length > 0 || url.Contains('#', StringComparison.Ordinal))
        {
            return "url must not carry user-info or a fragment";
        }
        // Reject an internal host as written (the connection checks the resolved address again).
        if (InternetHost.FromUri(url) is not { } host)
        {
            return "url has no valid host";
        }
        if (host.IsInternal && !allowInternal)
        {
            return "url must not point at a loopback, private or link-local address";
        }
        return null;
    }

    /// <summary>Why the list of event types is not acceptable, or null.</summary>
    public static string? EventTypesProblem(IReadOnlyList<string> eventTypes)
    {
        if (eventTypes.Count > MaxEventTypes)
        {
            return $"name at most {MaxEventTypes} event types";
        }
        // Reject unknown names: a typo would silently deliver nothing.
        var unknown = eventTypes.FirstOrDefault(type => !EventTypes.Contains(type, StringComparer.Ordinal));
        return unknown is null ? null : $"unknown event type '{unknown}'; use {string.Join(", ", EventTypes)} (or none for all)";
    }

    /// <summary>Whether <paramref name="secret"/> is a Standard Webhooks secret: <c>whsec_</c> and base64 of 24 to 64 bytes.</summary>
    public static byte[]? SecretBytes(string secret)
    {
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 200)
        {
            return null;
        }
        var bytes = new byte[64];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], bytes, out var written) && written is >= 24 and <= 64
            ? bytes[..written]
            : null;
    }

    /// <summary>A new secret: 32 bytes from the CSPRNG.</summary>
    public static string NewSecret() =>
        SecretPrefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
}
