using Broker.Core.Clients;

namespace Broker.Http;

/// <summary>Why someone is asked to sign in: the application asking and the site it is for.</summary>
public sealed record SignInPurpose(Client Application, string Site);

/// <summary>
/// Tells the purpose behind a return URL, so the login and join pages can say which application asks
/// and for which site. The installation flow answers for its pending authorize requests; the pages
/// need not know how those are read.
/// </summary>
public interface ISignInPurposes
{
    /// <summary>The purpose of <paramref name="returnUrl"/>, or null when it is not a valid pending request.</summary>
    Task<SignInPurpose?> DescribeAsync(string returnUrl, CancellationToken cancellationToken);
}
