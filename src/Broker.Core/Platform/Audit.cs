namespace Broker.Core.Platform;

/// <summary>Who caused a change, and from where: the part of every audit entry the caller supplies.</summary>
public sealed record AuditActor(string Id, string? SourceAddress = null, string? RequestId = null)
{
    /// <summary>The local command line, which works on the database directly.</summary>
    public static readonly AuditActor CommandLine = new("cli:local");

    public AuditEntry Entry(string action, string target, DateTimeOffset at, string? details = null) => new()
    {
        At = at,
        Actor = Id,
        Action = action,
        Target = target,
        SourceAddress = SourceAddress,
        RequestId = RequestId,
        Details = details,
    };
}

/// <summary>One change of state. The log is append-only: entries are never changed or removed.</summary>
public sealed record AuditEntry
{
    /// <summary>Assigned by the store, increasing.</summary>
    public long Id { get; init; }

    public required DateTimeOffset At { get; init; }

    public required string Actor { get; init; }

    public required string Action { get; init; }

    /// <summary>What changed, as <c>kind:id</c> (<c>client:…</c>, <c>user:…</c>, <c>admin-token:…</c>).</summary>
    public required string Target { get; init; }

    public string? SourceAddress { get; init; }

    public string? RequestId { get; init; }

    /// <summary>A short, human-readable summary of what changed; never a secret.</summary>
    public string? Details { get; init; }
}

/// <summary>A page of an audit query: newest first; <see cref="Before"/> continues after the previous page.</summary>
public sealed record AuditQuery
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public string? Actor { get; init; }
    public string? Action { get; init; }
    public string? Target { get; init; }

    /// <summary>Only entries with a smaller id (the cursor of the previous page).</summary>
    public long? Before { get; init; }

    public int Limit { get; init; } = 50;
}

/// <summary>The audit actions; stable names, as queries depend on them.</summary>
public static class AuditActions
{
    public const string ParentEnabled = "parent.enabled";
    public const string ParentChanged = "parent.changed";
    public const string ParentDisabled = "parent.disabled";
    public const string ParentOwnerChanged = "parent.owner_changed";
    public const string SecretRotated = "client.secret_rotated";
    public const string ChildCreated = "child.created";
    public const string ChildRevoked = "child.revoked";
    public const string ChildDisabled = "child.disabled";
    public const string ChildEnabled = "child.enabled";
    public const string ChildDeleted = "child.deleted";
    public const string ChildChanged = "child.changed";
    public const string UserDisabled = "user.disabled";
    public const string AdminTokenCreated = "admin_token.created";
    public const string AdminTokenRevoked = "admin_token.revoked";
    public const string SettingsChanged = "settings.changed";
    public const string ClientCreated = "client.created";
    public const string ClientChanged = "client.changed";
    public const string ClientDeleted = "client.deleted";
    public const string TrustedIssuerAdded = "trusted_issuer.added";
    public const string TrustedIssuerRemoved = "trusted_issuer.removed";
    public const string WebhookCreated = "webhook.created";
    public const string WebhookDeleted = "webhook.deleted";
    public const string WebhookSecretRotated = "webhook.secret_rotated";
    public const string WebhookReplayed = "webhook.replayed";

    /// <summary>Every action above: what a webhook subscription may name, never a list kept by hand beside them.</summary>
    public static readonly IReadOnlyList<string> All = [.. typeof(AuditActions)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(field => field.IsLiteral && field.FieldType == typeof(string))
        .Select(field => (string)field.GetRawConstantValue()!)];

    public static string Client(string clientId) => $"client:{clientId}";

    public static string User(string userId) => $"user:{userId}";

    public static string AdminToken(string tokenId) => $"admin-token:{tokenId}";

    public static string TrustedIssuer(string issuer) => $"trusted-issuer:{issuer}";
    public static string Webhook(string subscriptionId) => $"webhook:{subscriptionId}";
}

/// <summary>A page of a listing; <see cref="Next"/> is the opaque cursor of the following page, or null at the end.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);

/// <summary>
/// Keyset cursors for listings ordered newest first by (creation time, id): <c>{unix ms}.{id}</c>.
/// Opaque to callers; checked before any query so a tampered one is a 400, not a 500.
/// </summary>
public static class PageCursor
{
    public const int MaxLimit = 200;

    public static string Encode(long createdAtMilliseconds, string id) =>
        $"{createdAtMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{id}";

    public static bool TryDecode(string? cursor, out long createdAtMilliseconds, out string id)
    {
        createdAtMilliseconds = 0;
        id = "";
        var dot = cursor?.IndexOf('.', StringComparison.Ordinal) ?? -1;
        if (cursor is null || cursor.Length > 100 || dot <= 0
            || !long.TryParse(cursor.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out createdAtMilliseconds))
        {
            return false;
        }
        id = cursor[(dot + 1)..];
        return id.Length > 0 && id.All(char.IsAsciiLetterOrDigit);
    }
}
