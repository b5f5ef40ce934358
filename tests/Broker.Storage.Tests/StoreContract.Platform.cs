using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Storage.Stores;
using Dapper;

namespace Broker.Storage.Tests;

/// <summary>The platform team's store methods (issue 5), under the same contract for every provider.</summary>
public abstract partial class StoreContract
{
    protected AdminTokenStore AdminTokens => new(Database);

    protected AuditStore Audit => new(Database);

    private static AuditEntry Entry(string action, string target = "client:x", DateTimeOffset? at = null, string actor = "admin-token:t") =>
        new AuditActor(actor, "203.0.113.9", "req-1").Entry(action, target, at ?? Now);

    private async Task<int> AuditCountAsync() => (await Audit.QueryAsync(new AuditQuery { Limit = 200 })).Items.Count;

    // ---- Clients ----

    [SkippableFact]
    public async Task Replace_writes_the_fields_bumps_the_version_and_appends_the_entry_in_one_step()
    {
        var parent = await CreateParentAsync();
        var changed = parent with
        {
            Role = (ParentRole)parent.Role with { ChildRateLimit = 5 }, DisabledAt = Now, PreviousSecretHash = "p", PreviousSecretExpiresAt = Now.AddHours(1),
        };

        (await Clients.SaveAsync(changed, parent.Version, Entry(AuditActions.ParentChanged))).Should().Be(WriteOutcome.Done);

        var read = (await Clients.FindAsync(parent.ClientId))!;
        read.Should().BeEquivalentTo(ToMilliseconds(changed) with
        {
            Version = parent.Version + 1,
            PreviousSecretExpiresAt = ToMilliseconds(Now.AddHours(1)),
        }, options => options.RespectingRuntimeTypes());
        (await Audit.QueryAsync(new AuditQuery())).Items.Single().Should().BeEquivalentTo(
            Entry(AuditActions.ParentChanged) with { At = ToMilliseconds(Now) }, options => options.Excluding(e => e.Id));
    }

    [SkippableFact]
    public async Task Replace_with_a_stale_version_writes_nothing_and_no_entry()
    {
        var parent = await CreateParentAsync();
        (await Clients.SaveAsync(Renamed(parent, "First"), parent.Version, Entry(AuditActions.ParentChanged))).Should().Be(WriteOutcome.Done);

        (await Clients.SaveAsync(Renamed(parent, "Second"), parent.Version, Entry(AuditActions.ParentChanged))).Should().Be(WriteOutcome.NotFound);

        (await Clients.FindAsync(parent.ClientId))!.Name.Should().Be("First");
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableFact]
    public async Task Of_racing_replaces_from_one_version_exactly_one_wins()
    {
        var parent = await CreateParentAsync();

        var wins = await RaceAsync(Racers, async i =>
            await Clients.SaveAsync(Renamed(parent, $"N{i}"), parent.Version, Entry(AuditActions.ParentChanged)) == WriteOutcome.Done);

        wins.Count(won => won).Should().Be(1);
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Disabling_a_parent_revokes_its_unspent_installation_tokens_and_optionally_disables_its_children(bool disableChildren)
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var child = NewChild(parent, owner);
        (await Clients.CreateAsync(child)).Should().BeTrue();

        var disabled = await Clients.DisableParentAsync(parent with { DisabledAt = Now }, parent.Version, disableChildren, Now, Entry(AuditActions.ParentDisabled));

        disabled.Should().Be(disableChildren ? 1 : 0);
        (await Grants.FindTokenAsync(token.TokenHash))!.RevokedAt.Should().Be(ToMilliseconds(Now));
        (await Clients.FindAsync(parent.ClientId))!.DisabledAt.Should().Be(ToMilliseconds(Now));
        (await Clients.FindAsync(child.ClientId))!.DisabledAt.Should().Be(disableChildren ? ToMilliseconds(Now) : null);
        (await Audit.QueryAsync(new AuditQuery())).Items.Single().Details.Should().Contain($"children disabled: {disabled}");
        (await Clients.DisableParentAsync(parent, parent.Version, true, Now, Entry(AuditActions.ParentDisabled))).Should().BeNull();
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableFact]
    public async Task Recording_use_never_moves_last_use_backwards_nor_changes_the_version()
    {
        var parent = await CreateParentAsync();

        await Clients.RecordUseAsync(parent.ClientId, Now.AddMinutes(2));
        await Clients.RecordUseAsync(parent.ClientId, Now.AddMinutes(1));

        var read = (await Clients.FindAsync(parent.ClientId))!;
        read.LastUsedAt.Should().Be(ToMilliseconds(Now.AddMinutes(2)));
        read.Version.Should().Be(parent.Version);
    }

    [SkippableFact]
    public async Task Parents_and_children_are_listed_newest_first_in_pages_with_filters()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var other = await CreateUserAsync();
        var children = new List<Client>();
        for (var i = 0; i < 5; i++)
        {
            var child = NewChild(parent, i == 4 ? other : owner, Now.AddSeconds(i));
            child = child with { Role = (InstallationRole)child.Role with { Origin = i % 2 == 0 ? "https://even.example" : "https://odd.example" } };
            (await Clients.CreateAsync(child)).Should().BeTrue();
            children.Add(child);
        }

        var first = await Clients.ListChildrenAsync(parent.ClientId, null, null, null, 3);
        first.Items.Select(c => c.ClientId).Should().Equal(children[4].ClientId, children[3].ClientId, children[2].ClientId);
        var second = await Clients.ListChildrenAsync(parent.ClientId, null, null, first.Next, 3);
        second.Items.Select(c => c.ClientId).Should().Equal(children[1].ClientId, children[0].ClientId);
        second.Next.Should().BeNull();
        (await Clients.ListChildrenAsync(parent.ClientId, owner.UserId, "https://even.example", null, 10)).Items
            .Select(c => c.ClientId).Should().Equal(children[2].ClientId, children[0].ClientId);
        (await Clients.ListParentsAsync(null, 10)).Items.Select(c => c.ClientId).Should().Equal(parent.ClientId);
    }

    [SkippableFact]
    public async Task Revoking_an_owned_child_and_spending_a_token_append_their_entries_only_when_they_happen()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var child = NewChild(parent, owner);

        (await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "f", child, Now, Entry(AuditActions.ChildCreated))).Should().Be(SpendOutcome.Created);
        (await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "f", NewChild(parent, owner), Now, Entry(AuditActions.ChildCreated)))
            .Should().Be(SpendOutcome.TokenNotUsable);
        (await Clients.RevokeOwnedChildAsync(owner.UserId, child.ClientId, Now, Entry(AuditActions.ChildRevoked))).Should().BeTrue();
        (await Clients.RevokeOwnedChildAsync(owner.UserId, child.ClientId, Now, Entry(AuditActions.ChildRevoked))).Should().BeFalse();

        (await Audit.QueryAsync(new AuditQuery())).Items.Select(e => e.Action).Should().Equal(AuditActions.ChildRevoked, AuditActions.ChildCreated);
    }

    // ---- Users ----

    [SkippableFact]
    public async Task Disabling_a_user_disables_their_active_children_once()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var active = NewChild(parent, owner);
        var revoked = NewChild(parent, owner) with { RevokedAt = Now };
        await Clients.CreateAsync(active);
        await Clients.CreateAsync(revoked);

        (await Users.DisableAsync(owner.UserId, Now, Entry(AuditActions.UserDisabled))).Should().Be(1);
        (await Users.DisableAsync(owner.UserId, Now, Entry(AuditActions.UserDisabled))).Should().BeNull();

        (await Users.FindAsync(owner.UserId))!.DisabledAt.Should().Be(ToMilliseconds(Now));
        (await Clients.FindAsync(active.ClientId))!.DisabledAt.Should().Be(ToMilliseconds(Now));
        (await Clients.FindAsync(revoked.ClientId))!.DisabledAt.Should().BeNull();
        (await AuditCountAsync()).Should().Be(1);
    }

    [SkippableFact]
    public async Task Users_are_listed_newest_first_in_pages()
    {
        var users = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var user = NewUser() with { CreatedAt = Now.AddSeconds(i) };
            (await Users.CreateAsync(user)).Should().BeTrue();
            users.Add(user.UserId);
        }

        var first = await Users.ListAsync(null, 2);
        var second = await Users.ListAsync(first.Next, 2);

        first.Items.Select(u => u.UserId).Concat(second.Items.Select(u => u.UserId)).Should().Equal(users[2], users[1], users[0]);
        second.Next.Should().BeNull();
    }

    // ---- Admin tokens ----

    [SkippableFact]
    public async Task An_admin_token_is_found_by_its_hash_listed_revoked_once_and_its_use_recorded()
    {
        var value = Secret.NewToken();
        var token = new AdminToken
        {
            TokenId = Secret.NewClientId(),
            Name = "ops",
            TokenHash = Secret.Hash(value),
            Fingerprint = Secret.Fingerprint(value),
            Scopes = [AdminScopes.ClientsRead, AdminScopes.AuditRead],
            CreatedAt = Now,
        };

        await AdminTokens.CreateAsync(token, Entry(AuditActions.AdminTokenCreated));
        await AdminTokens.RecordUseAsync(token.TokenId, Now.AddMinutes(1));

        (await AdminTokens.FindByHashAsync(Secret.Hash(value))).Should().BeEquivalentTo(
            ToMilliseconds(token) with { LastUsedAt = ToMilliseconds(Now.AddMinutes(1)) });
        (await AdminTokens.ListAsync()).Select(t => t.TokenId).Should().Equal(token.TokenId);
        (await AdminTokens.RevokeAsync(token.TokenId, Now, Entry(AuditActions.AdminTokenRevoked))).Should().BeTrue();
        (await AdminTokens.RevokeAsync(token.TokenId, Now, Entry(AuditActions.AdminTokenRevoked))).Should().BeFalse();
        (await AdminTokens.FindByHashAsync(Secret.Hash(value)))!.RevokedAt.Should().Be(ToMilliseconds(Now));
        (await AuditCountAsync()).Should().Be(2);
    }

    // ---- Audit ----

    [SkippableFact]
    public async Task The_audit_log_is_queried_by_time_actor_action_and_target_newest_first_in_pages()
    {
        await Audit.AppendAsync(Entry("a.one", "client:1", Now, "admin-token:x"));
        await Audit.AppendAsync(Entry("a.two", "client:2", Now.AddMinutes(1), "admin-token:y"));
        await Audit.AppendAsync(Entry("a.one", "client:2", Now.AddMinutes(2), "admin-token:x"));

        (await Audit.QueryAsync(new AuditQuery { Action = "a.one" })).Items.Select(e => e.Target).Should().Equal("client:2", "client:1");
        (await Audit.QueryAsync(new AuditQuery { Actor = "admin-token:y" })).Items.Single().Action.Should().Be("a.two");
        (await Audit.QueryAsync(new AuditQuery { Target = "client:2" })).Items.Should().HaveCount(2);
        (await Audit.QueryAsync(new AuditQuery { From = Now.AddMinutes(1), To = Now.AddMinutes(2) })).Items.Single().Action.Should().Be("a.two");
        var first = await Audit.QueryAsync(new AuditQuery { Limit = 2 });
        var second = await Audit.QueryAsync(new AuditQuery { Limit = 2, Before = long.Parse(first.Next!, System.Globalization.CultureInfo.InvariantCulture) });
        first.Items.Concat(second.Items).Select(e => e.At).Should().Equal(
            ToMilliseconds(Now.AddMinutes(2)), ToMilliseconds(Now.AddMinutes(1)), ToMilliseconds(Now));
        second.Next.Should().BeNull();
    }

    [SkippableFact]
    public async Task The_audit_log_cannot_be_changed_or_emptied_even_with_sql()
    {
        // Entries younger than 28 days (by the database's clock): older ones may be removed by retention.
        await Audit.AppendAsync(Entry("a.one", at: DateTimeOffset.UtcNow));
        await using var connection = await Database.OpenAsync();

        var update = () => connection.ExecuteAsync("UPDATE audit_log SET actor = 'someone else'");
        var delete = () => connection.ExecuteAsync("DELETE FROM audit_log");

        await update.Should().ThrowAsync<System.Data.Common.DbException>();
        await delete.Should().ThrowAsync<System.Data.Common.DbException>();
        (await Audit.QueryAsync(new AuditQuery())).Items.Single().Actor.Should().Be("admin-token:t");
    }

    private static AdminToken ToMilliseconds(AdminToken token) => token with
    {
        CreatedAt = ToMilliseconds(token.CreatedAt),
        LastUsedAt = ToMilliseconds(token.LastUsedAt),
        RevokedAt = ToMilliseconds(token.RevokedAt),
    };
}
