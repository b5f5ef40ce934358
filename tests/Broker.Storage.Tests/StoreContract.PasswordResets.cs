using Broker.Core.Accounts;
using Broker.Core.Security;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

public abstract partial class StoreContract
{
    private PasswordResetStore Resets => new(Database);

    private async Task<(User User, string TokenHash)> CreateResetAsync(DateTimeOffset expiresAt, User? user = null)
    {
        user ??= await CreateUserAsync();
        var tokenHash = Secret.Hash(Secret.NewToken());
        await Resets.CreateAsync(new PasswordReset { TokenHash = tokenHash, UserId = user.UserId, CreatedAt = Now, ExpiresAt = expiresAt });
        return (user, tokenHash);
    }

    [SkippableFact]
    public async Task A_reset_link_changes_the_password_once_even_when_redemptions_race()
    {
        var (user, tokenHash) = await CreateResetAsync(Now.AddMinutes(30));

        var outcomes = await RaceAsync(Racers, i => Resets.RedeemAsync(tokenHash, $"new-hash-{i}", Now));

        outcomes.Count(redeemed => redeemed).Should().Be(1);
        var winner = Array.IndexOf(outcomes, true);
        (await Users.FindAsync(user.UserId))!.PasswordHash.Should().Be($"new-hash-{winner}");
        (await Resets.FindAsync(tokenHash))!.UsedAt.Should().Be(ToMilliseconds(Now));
    }

    [SkippableFact]
    public async Task An_expired_reset_link_changes_nothing_and_a_spent_one_voids_the_accounts_other_links()
    {
        var (user, expired) = await CreateResetAsync(Now);
        (await Resets.RedeemAsync(expired, "never", Now)).Should().BeFalse();
        (await Users.FindAsync(user.UserId))!.PasswordHash.Should().Be(user.PasswordHash);

        var (_, first) = await CreateResetAsync(Now.AddMinutes(30), user);
        var (_, second) = await CreateResetAsync(Now.AddMinutes(30), user);
        (await Resets.RedeemAsync(first, "new-hash", Now)).Should().BeTrue();
        (await Resets.RedeemAsync(second, "other-hash", Now)).Should().BeFalse();
        (await Users.FindAsync(user.UserId))!.PasswordHash.Should().Be("new-hash");

        (await Resets.PurgeExpiredAsync(Now.AddMinutes(1))).Should().Be(1);
        (await Resets.FindAsync(expired)).Should().BeNull();
    }
}
