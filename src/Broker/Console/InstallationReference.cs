using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;

namespace Broker.Console;

/// <summary>
/// How the console names an installation without its key. A child's client id is its gateway key, so the
/// console never prints it nor puts it in a URL (where tracing's <c>url.path</c> and access logs would keep
/// it): it addresses the child by <c>{created_at in ms}-{16 hex}</c> under its parent, and shows the key as
/// its last four characters only (<see cref="Core.Security.Secret.Fingerprint"/>).
/// </summary>
/// <remarks>
/// The 16 hex digits are the first 64 bits of SHA-256 over a console-only prefix and the client id. An
/// unkeyed hash is enough here: a key only protects a low-entropy input against a dictionary, and every
/// child id we mint carries 131 random bits (<see cref="Core.Security.Secret.NewClientId()"/>), so no search
/// turns the reference back into the key; the prefix keeps it from matching any other hash of the id.
/// 64 bits cannot collide among the children a parent creates in the same millisecond. The creation time
/// (already on the page) lets the lookup seek with the store's own keyset cursor instead of scanning.
/// </remarks>
internal static class InstallationReference
{
    private const int PageSize = 50;

    public static string Of(Client child) =>
        $"{child.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}-{Hash(child.ClientId)}";

    /// <summary>
    /// The child of <paramref name="parentClientId"/> that <paramref name="reference"/> names, or null. Only that
    /// parent's children are searched, so a reference never reaches another vendor's installation.
    /// </summary>
    public static async Task<Client?> ResolveAsync(
        IPlatformClientStore clients, string parentClientId, string reference, CancellationToken cancellationToken)
    {
        var dash = reference.IndexOf('-', StringComparison.Ordinal);
        if (reference.Length > 40 || dash <= 0
            || !long.TryParse(reference.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var createdAt)
            || createdAt >= long.MaxValue - 1)
        {
            return null;
        }
        var hash = reference[(dash + 1)..];
        // Pages run newest first by (created_at, client_id); no id sorts below "0", so this cursor starts at createdAt.
        var cursor = PageCursor.Encode(createdAt + 1, "0");
        while (true)
        {
            var page = await clients.ListChildrenAsync(parentClientId, null, null, cursor, PageSize, cancellationToken);
            foreach (var child in page.Items)
            {
                var at = child.CreatedAt.ToUnixTimeMilliseconds();
                if (at < createdAt)
                {
                    return null;
                }
                if (at == createdAt && string.Equals(Hash(child.ClientId), hash, StringComparison.Ordinal))
                {
                    return child;
                }
            }
            if (page.Next is null)
            {
                return null;
            }
            cursor = page.Next;
        }
    }

    private static string Hash(string clientId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"broker-console-installation:{clientId}")).AsSpan(0, 8));
}
