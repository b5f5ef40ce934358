using Broker.Core.Accounts;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.AspNetCore.Identity;

namespace Broker.Hosting;

/// <summary>The outcome of a password check: the user, or why not (a wait while throttled).</summary>
public sealed record PasswordCheck(User? User, TimeSpan? RetryAfter = null);

/// <summary>
/// The one password check, for every page that signs someone in (the account pages, the console): the
/// throttles per account and per address, the same answer and the same work whether or not the account
/// exists, and disabled accounts refused.
/// </summary>
public sealed class PasswordSignIn(IUserStore users, IPasswordHasher<User> hasher, Throttles throttles, BrokerTelemetry telemetry)
{
    public async Task<PasswordCheck> CheckAsync(string email, string password, string callerAddress, CancellationToken cancellationToken)
    {
        var accountKey = AccountRules.Normalize(email);
        // Reject while the account or the address has failed too often.
        if ((await throttles.LoginsPerAccount.BlockedForAsync(accountKey, cancellationToken)
            ?? await throttles.LoginsPerAddress.BlockedForAsync(callerAddress, cancellationToken)) is { } retryAfter)
        {
            telemetry.Throttled("failed-logins", callerAddress, retryAfter);
            return new PasswordCheck(null, retryAfter);
        }
        var user = accountKey.Length is > 0 and <= AccountRules.MaxEmailLength
            ? await users.FindByEmailAsync(accountKey, cancellationToken)
            : null;
        // Verify against a dummy hash when there is no such user, so timing does not reveal accounts.
        var verified = hasher.VerifyHashedPassword(user ?? DummyUser, user?.PasswordHash ?? DummyUser.PasswordHash,
            password.Length <= AccountRules.MaxPasswordLength ? password : "");
        // Reject a wrong e-mail or password (without saying which), and disabled accounts.
        if (user is null || verified == PasswordVerificationResult.Failed || user.DisabledAt is not null)
        {
            await throttles.LoginsPerAccount.RecordFailureAsync(accountKey, cancellationToken);
            await throttles.LoginsPerAddress.RecordFailureAsync(callerAddress, cancellationToken);
            telemetry.AuthenticationFailed(AuthenticationKinds.Login, null, callerAddress);
            return new PasswordCheck(null);
        }
        return new PasswordCheck(user);
    }

    private static readonly User DummyUser = CreateDummyUser();

    private static User CreateDummyUser()
    {
        var user = new User { UserId = "", Email = "", NormalizedEmail = "", PasswordHash = "", CreatedAt = DateTimeOffset.UnixEpoch };
        return user with { PasswordHash = new PasswordHasher<User>().HashPassword(user, Secret.NewToken()) };
    }
}
