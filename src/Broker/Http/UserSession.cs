using System.Security.Claims;
using Broker.Core.Accounts;
using Broker.Core.Stores;

namespace Broker.Http;

/// <summary>
/// The site owner's session as the pages read it: the account pages that sign owners in, and the
/// consent page that acts for a signed-in owner and sends anyone else to sign in first.
/// </summary>
public static class UserSession
{
    public const string LoginPath = "/account/login";

    /// <summary>The owner's installations, where a consent page points for revoking.</summary>
    public const string AppsPath = "/account/apps";

    /// <summary>The signed-in user's id, or null.</summary>
    public static string? SignedInUserId(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? context.User.FindFirstValue(ClaimTypes.NameIdentifier) : null;

    /// <summary>The signed-in, still enabled user, or null.</summary>
    public static async Task<User?> SignedInUserAsync(HttpContext context, IUserStore users)
    {
        var userId = SignedInUserId(context);
        if (userId is null)
        {
            return null;
        }
        var user = await users.FindAsync(userId, context.RequestAborted);
        return user is { DisabledAt: null } ? user : null;
    }

    /// <summary>Where to send someone who must sign in before <paramref name="returnUrl"/>.</summary>
    public static string LoginUrl(string returnUrl) => $"{LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl)}";
}
