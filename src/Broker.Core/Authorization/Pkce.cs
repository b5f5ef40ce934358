using System.Security.Cryptography;
using System.Text;

namespace Broker.Core.Authorization;

/// <summary>RFC 7636 with S256 only: <c>plain</c> offers no protection against a leaked request.</summary>
public static class Pkce
{
    public const string S256 = "S256";

    /// <summary>Whether a challenge or verifier has RFC 7636's shape: 43 to 128 unreserved characters.</summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: >= 43 and <= 128 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <summary>Whether <paramref name="verifier"/> hashes to <paramref name="challenge"/> under S256, in fixed time.</summary>
    public static bool Verifies(string verifier, string challenge)
    {
        if (!IsWellFormed(verifier))
        {
            return false;
        }
        var computed = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(challenge));
    }

    /// <summary>The S256 challenge of a verifier (used by clients and tests).</summary>
    public static string ChallengeOf(string verifier) => Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
