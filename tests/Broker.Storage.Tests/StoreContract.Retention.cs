using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

public abstract partial class StoreContract
{
    private RetentionStore Retention => new(Database);

    private async Task<AdminToken> CreateAdminTokenAsync(DateTimeOffset? revokedAt = null)
    {
        var value = Secret.NewToken();
        var token = new AdminToken
        {
            TokenId = Secret.NewClientId(),
            Name = "ops",
            TokenHash = Secret.Hash(value),
            Fingerprint = Secret.Fingerprint(value),
            Scopes = [AdminScopes.AuditRead],
            CreatedAt = Now.AddDays(-10),
        };
        await AdminTokens.CreateAsync(token, Entry(AuditActions.AdminTokenCreated, at: Now.AddDays(-10)));
        if (revokedAt is { } at)
        {
            (await AdminTokens.RevokeAsync(token.TokenId, at, Entry(AuditActions.AdminTokenRevoked, at: at))).Should().BeTrue();
        }
        return token;
    }

    [SkippableFact]
    public async Task Retention_removes_each_kind_once_it_ended_before_the_cutoff_and_keeps_what_is_live()
    {
        var before = Now.AddDays(-1);
        var (spent, parent, owner) = await CreateInstallationTokenAsync();
        (await Grants.SpendInstallationTokenAsync(spent.TokenHash, null, "fingerprint", NewChild(parent, owner), Now.AddDays(-2)))
            .Should().Be(SpendOutcome.Created);
        var (expiredInstallation, _, _) = await CreateInstallationTokenAsync(parent, owner, expiresAt: Now.AddDays(-2));
        var (liveInstallation, _, _) = await CreateInstallationTokenAsync(parent, owner);
        var (spentYesterday, _, _) = await CreateInstallationTokenAsync(parent, owner);
        await Grants.SpendInstallationTokenAsync(spentYesterday.TokenHash, null, "fingerprint", NewChild(parent, owner), Now.AddHours(-1));
        var client = NewStandard("Service");
        await Clients.CreateAsync(client);
        var expiredAccess = NewToken(client.ClientId, null, TokenPurpose.Access) with { ExpiresAt = Now.AddDays(-2) };
        var revokedAccess = NewToken(client.ClientId, null, TokenPurpose.Access) with { ExpiresAt = Now.AddHours(1), RevokedAt = Now.AddDays(-2) };
        var liveAccess = NewToken(client.ClientId, null, TokenPurpose.Access) with { ExpiresAt = Now.AddHours(1) };
        foreach (var token in new[] { expiredAccess, revokedAccess, liveAccess })
        {
            await Grants.CreateTokenAsync(token);
        }
        var revokedAdmin = await CreateAdminTokenAsync(revokedAt: Now.AddDays(-2));
        var recentlyRevokedAdmin = await CreateAdminTokenAsync(revokedAt: Now.AddHours(-1));
        var activeAdmin = await CreateAdminTokenAsync();

        var removed = new Dictionary<RetentionKind, int>();
        foreach (var kind in Enum.GetValues<RetentionKind>())
        {
            removed[kind] = await Retention.RemoveAsync(kind, before, 100);
        }

        removed.Should().BeEquivalentTo(new Dictionary<RetentionKind, int>
        {
            [RetentionKind.InstallationTokens] = 2,
            [RetentionKind.AuthorizationCodes] = 0,
            [RetentionKind.AccessTokens] = 2,
            [RetentionKind.AdminTokens] = 1,
            // The admin tokens' creation and revocations, ten and two days ago.
            [RetentionKind.AuditEntries] = 4,
            [RetentionKind.UsageHours] = 0,
        });
        (await Grants.FindTokenAsync(spent.TokenHash)).Should().BeNull();
        (await Grants.FindTokenAsync(expiredInstallation.TokenHash)).Should().BeNull();
        (await Grants.FindTokenAsync(liveInstallation.TokenHash)).Should().NotBeNull();
        (await Grants.FindTokenAsync(spentYesterday.TokenHash)).Should().NotBeNull();
        (await Grants.FindTokenAsync(expiredAccess.TokenHash)).Should().BeNull();
        (await Grants.FindTokenAsync(revokedAccess.TokenHash)).Should().BeNull();
        (await Grants.FindTokenAsync(liveAccess.TokenHash)).Should().NotBeNull();
        (await AdminTokens.ListAsync()).Select(t => t.TokenId).Should().BeEquivalentTo(recentlyRevokedAdmin.TokenId, activeAdmin.TokenId);
        (await AdminTokens.FindByHashAsync(revokedAdmin.TokenHash)).Should().BeNull();
        // The child a removed token made stays: only the token is gone.
        (await Clients.ListChildrenOwnedByAsync(owner.UserId)).Should().HaveCount(2);
    }

    [SkippableFact]
    public async Task Retention_removes_expired_codes_in_batches_and_racing_removers_delete_each_row_once()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var codes = new List<AuthorizationCode>();
        for (var i = 0; i < 25; i++)
        {
            codes.Add(await CreateCodeAsync(parent, owner));
        }
        var live = await CreateCodeAsync(parent, owner);
        await Grants.CreateCodeAsync(live with { CodeHash = Secret.Hash(Secret.NewToken()), ExpiresAt = Now.AddMinutes(30) });
        var cutoff = Now.AddMinutes(11);

        (await Retention.RemoveAsync(RetentionKind.AuthorizationCodes, cutoff, 10)).Should().Be(10);
        // Instances that run at once meet on the same rows: between them, each is deleted once.
        var racing = await RaceAsync(Racers, _ => Retention.RemoveAsync(RetentionKind.AuthorizationCodes, cutoff, 10));

        racing.Sum().Should().Be(16);
        (await Retention.RemoveAsync(RetentionKind.AuthorizationCodes, cutoff, 10)).Should().Be(0);
        foreach (var code in codes)
        {
            (await Grants.FindCodeAsync(code.CodeHash)).Should().BeNull();
        }
    }

    [SkippableFact]
    public async Task Old_audit_entries_are_removed_but_the_database_refuses_to_delete_one_younger_than_28_days()
    {
        var audit = new AuditStore(Database);
        await audit.AppendAsync(Entry(AuditActions.ClientCreated, at: Now.AddDays(-400)));
        var recent = Entry(AuditActions.ClientCreated, target: "client:recent", at: DateTimeOffset.UtcNow);
        await audit.AppendAsync(recent);

        (await Retention.RemoveAsync(RetentionKind.AuditEntries, Now.AddDays(-365), 10)).Should().Be(1);
        var tooEarly = () => Retention.RemoveAsync(RetentionKind.AuditEntries, DateTimeOffset.UtcNow.AddDays(1), 10);

        await tooEarly.Should().ThrowAsync<Exception>();
        (await audit.QueryAsync(new AuditQuery { Limit = 10 })).Items.Select(e => e.Target).Should().Equal("client:recent");
    }

    [SkippableFact]
    public async Task Old_audit_entries_a_webhook_subscription_has_not_delivered_yet_are_kept()
    {
        var audit = new AuditStore(Database);
        await audit.AppendAsync(Entry(AuditActions.ClientCreated, target: "client:delivered", at: Now.AddDays(-500)));
        await SubscribeAsync("wh-retention");
        await audit.AppendAsync(Entry(AuditActions.ClientCreated, target: "client:undelivered", at: Now.AddDays(-400)));

        (await Retention.RemoveAsync(RetentionKind.AuditEntries, Now.AddDays(-365), 10)).Should().Be(1);

        var kept = (await audit.QueryAsync(new AuditQuery { Limit = 10 })).Items.Select(entry => entry.Target);
        kept.Should().Contain("client:undelivered").And.NotContain("client:delivered");
    }

    [SkippableFact]
    public async Task Usage_hours_are_removed_oldest_hour_first_in_batches_until_the_cutoff_and_racing_removers_delete_each_once()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var children = new List<Client>();
        for (var i = 0; i < 7; i++)
        {
            var child = NewChild(parent, owner);
            (await Clients.CreateAsync(child)).Should().BeTrue();
            children.Add(child);
        }
        var hour = UsageHour.HourOf(Now);
        // Seven installations in each of three old hours, and in the hour of the cutoff and the one after.
        foreach (var offset in new[] { -30, -29, -28, -24, -23 })
        {
            await Usage.AddAsync([.. children.Select(child => Calls(child, hour.AddHours(offset), 1))]);
        }
        var cutoff = hour.AddHours(-24);

        (await Retention.RemoveAsync(RetentionKind.UsageHours, cutoff, 5)).Should().Be(5, "five installations' rows of the oldest hour");
        (await Retention.RemoveAsync(RetentionKind.UsageHours, cutoff, 5)).Should().Be(2, "the rest of that hour");
        var racing = await RaceAsync(Racers, _ => Retention.RemoveAsync(RetentionKind.UsageHours, cutoff, 3));
        var removedByRace = racing.Sum();
        while (await Retention.RemoveAsync(RetentionKind.UsageHours, cutoff, 3) is var removed and > 0)
        {
            removedByRace += removed;
        }

        removedByRace.Should().Be(14, "the two other hours before the cutoff, each row once");
        var left = await Usage.HoursAsync(UsageScope.OfParent(parent.ClientId), hour.AddDays(-2), hour.AddHours(1));
        left.Select(row => row.Hour).Should().Equal(hour.AddHours(-24), hour.AddHours(-23));
        left.Should().OnlyContain(row => row.Admitted == 7);
    }
}
