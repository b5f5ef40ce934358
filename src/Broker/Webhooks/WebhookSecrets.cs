using Broker.Core.Webhooks;
using Microsoft.AspNetCore.DataProtection;

namespace Broker.Webhooks;

/// <summary>
/// Signing secrets must be read back to sign (HMAC), so unlike client secrets they cannot be stored as
/// hashes: they are stored protected by the shared, encrypted Data Protection key ring.
/// </summary>
public sealed class WebhookSecrets(IDataProtectionProvider dataProtection)
{
    private readonly IDataProtector protector = dataProtection.CreateProtector("Broker.Webhooks.SigningSecret");

    public string Protect(string secret) => protector.Protect(secret);

    /// <summary>The keys a delivery at <paramref name="now"/> is signed with: the current one, and the previous one during its overlap.</summary>
    public IReadOnlyList<byte[]> SigningKeys(WebhookSubscription subscription, DateTimeOffset now)
    {
        var keys = new List<byte[]> { Key(subscription.ProtectedSecret) };
        if (subscription.PreviousProtectedSecret is { } previous && subscription.PreviousSecretExpiresAt > now)
        {
            keys.Add(Key(previous));
        }
        return keys;
    }

    private byte[] Key(string protectedSecret) =>
        WebhookRules.SecretBytes(protector.Unprotect(protectedSecret))
        ?? throw new InvalidOperationException("a stored webhook secret is not a whsec_ secret");
}
