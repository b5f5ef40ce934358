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

    /// <summary>Length of every client id we mint; letters and digits only.</summary>
    public const int ClientIdLength = 32;

    /// <summary>A new secret, code or token: 32 random bytes as 64 lowercase hex characters.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    // Digits then lowercase letters: ascending in ASCII and in every common collation.
    private const string OrderedDigits = "0123456789abcdefghijklmnopqrstuvwxyz";

    // Milliseconds since the Unix epoch in nine base-36 digits last until the year 5188.
    private const int TimeDigits = 9;

    /// <summary>
    /// A new client id: the letter <c>c</c>, the minting time in milliseconds as nine base-36 digits,
    /// then 22 random letters and digits (131 bits). It starts with a letter so that it never reads as
    /// a command-line option or a number, and is letters and digits only so it survives every URL and
    /// shell unquoted. The time prefix makes ids minted later sort later (UUIDv7's reasoning): a new
    /// client lands at the end of every index keyed by its id instead of on a random page, which keeps
    /// the write of a registration to a few pages; the random part alone keeps ids unguessable.
    /// </summary>
    public static string NewClientId() => NewClientId(DateTimeOffset.UtcNow);

    /// <inheritdoc cref="NewClientId()"/>
    public static string NewClientId(DateTimeOffset mintedAt)
    {
        var milliseconds = Math.Max(0, mintedAt.ToUnixTimeMilliseconds());
        Span<char> id = stackalloc char[ClientIdLength];
        id[0] = 'c';
        for (var i = TimeDigits; i >= 1; i--)
        {
            id[i] = OrderedDigits[(int)(milliseconds % OrderedDigits.Length)];
            milliseconds /= OrderedDigits.Length;
        }
        RandomNumberGenerator.GetItems(Alphanumerics, id[(TimeDigits + 1)..]);
        return new string(id);
    }

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
