using System.Security.Cryptography;
using System.Text;

namespace Broker.Core.Security;

/// <summary>
/// Secrets, codes and tokens: 256 bits from the CSPRNG, stored only as SHA-256 hashes. They are
/// high-entropy, so a fast hash is as safe as a slow KDF and keeps the token endpoint fast.
/// </summary>
public static class Secret
{
    private const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private const string Letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Length of every client id we mint; letters and digits only.</summary>
    public const int ClientIdLength = 32;

    /// <summary>A new secret, code or token: 32 random bytes as 64 lowercase hex characters.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// A new client id. It starts with a letter so that it never reads as a command-line option
    /// or a number, and is letters and digits only so it survives every URL and shell unquoted.
    /// </summary>
    public static string NewClientId() =>
        RandomNumberGenerator.GetString(Letters, 1) + RandomNumberGenerator.GetString(Alphanumerics, ClientIdLength - 1);

    /// <summary>The stored form of a secret: lowercase hex SHA-256 of its UTF-8 bytes.</summary>
    public static string Hash(string secret) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>Whether <paramref name="presented"/> hashes to <paramref name="storedHash"/>, in fixed time.</summary>
    public static bool Matches(string presented, string? storedHash)
    {
        if (storedHash is null)
        {
            return false;
        }
        var presentedHash = Hash(presented);
        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(presentedHash), Encoding.ASCII.GetBytes(storedHash));
    }

    /// <summary>The last four characters: enough to match a leaked secret, never enough to use one.</summary>
    public static string Fingerprint(string secret) => secret.Length <= 4 ? secret : secret[^4..];

    /// <summary>Whether a client id has the shape we mint (cheap refusal before any lookup).</summary>
    public static bool IsWellFormedClientId(string? clientId) =>
        clientId is { Length: >= 24 and <= 64 } && clientId.All(char.IsAsciiLetterOrDigit);
}
