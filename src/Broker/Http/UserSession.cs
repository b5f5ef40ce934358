using System.Security.Claims;
using Broker.Core.Accounts;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.AspNetCore.Antiforgery;

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

    /// <summary>Where a signed-in owner signs out (the consent page's "not you?" posts here too).</summary>
    public const string LogoutPath = "/account/logout";

    /// <summary>The signed-in user's id, or null.</summary>
    public static string? SignedInUserId(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? context.User.FindFirstValue(ClaimTypes.NameIdentifier) : null;

    /// <summary>The signed-in, still enabled user whose password has not changed since signing in, or null.</summary>
    public static async Task<User?> SignedInUserAsync(HttpContext context, IUserStore users)
    {
        var userId = SignedInUserId(context);
        if (userId is null)
        {
            return null;
        }
        var user = await users.FindAsync(userId, context.RequestAborted);
        return user is { DisabledAt: null } && context.User.FindFirstValue(PasswordStampClaim) == PasswordStamp(user) ? user : null;
    }

    // Sessions are cookies the server does not list, so a password change cannot end them one by one.
    // Each carries a stamp of the password hash it was opened with instead: the user row is read on
    // every page anyway, and a new hash (a reset) makes every older session's stamp stale.
    public const string PasswordStampClaim = "broker:password_stamp";

    /// <summary>The stamp a session opened with <paramref name="user"/>'s current password carries.</summary>
    public static string PasswordStamp(User user) => Secret.Hash(user.PasswordHash)[..16];

    /// <summary>Where to send someone who must sign in before <paramref name="returnUrl"/>.</summary>
    public static string LoginUrl(string returnUrl) => $"{LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl)}";

    /// <summary>
    /// A sign-out button; with <paramref name="returnUrl"/> the sign-in page that follows returns there
    /// (the consent page's "not you?" comes back to the same authorize request).
    /// </summary>
    public static string SignOutForm(HttpContext context, IAntiforgery antiforgery, string label, string? returnUrl = null, string buttonClass = "secondary") =>
        $"""<form class="inline" method="post" action="{LogoutPath}">{Html.AntiforgeryField(context, antiforgery)}{Html.Hidden("returnUrl", returnUrl)}<button class="{buttonClass}" type="submit">{Html.Text(label)}</button></form>""";
}
