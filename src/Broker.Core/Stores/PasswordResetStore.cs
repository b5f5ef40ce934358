using Broker.Core.Accounts;

namespace Broker.Core.Stores;

/// <summary>Password-reset links and the one-time transition that spends one.</summary>
public interface IPasswordResetStore
{
    Task CreateAsync(PasswordReset reset, CancellationToken cancellationToken = default);

    Task<PasswordReset?> FindAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>
    /// In one transaction: spends the link if it is unused and unexpired at <paramref name="now"/>, gives
    /// its (enabled) user <paramref name="newPasswordHash"/>, and voids the user's other unused links.
    /// Exactly one of any number of concurrent calls for one link gets true; false writes nothing.
    /// </summary>
    Task<bool> RedeemAsync(string tokenHash, string newPasswordHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Deletes links that expired before <paramref name="before"/>; how many.</summary>
    Task<int> PurgeExpiredAsync(DateTimeOffset before, CancellationToken cancellationToken = default);
}
