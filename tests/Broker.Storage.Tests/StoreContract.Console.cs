using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

/// <summary>What the console reads (issue 17): hourly usage counts, parent search, a parent's vendor, the kill switch's count.</summary>
public abstract partial class StoreContract
{
    protected UsageStore Usage => new(Database);

    private static UsageHour Calls(Client child, DateTimeOffset hour, long admitted, long notWhitelisted = 0, long quotaSpent = 0) => new()
    {
        ClientId = child.ClientId,
        ParentClientId = ((InstallationRole)child.Role).ParentClientId,
        Hour = UsageHour.HourOf(hour),
        Admitted = admitted,
        NotWhitelisted = notWhitelisted,
        QuotaSpent = quotaSpent,
    };

    [SkippableFact]
    public async Task Usage_counts_add_up_in_one_row_per_installation_and_hour_and_sum_per_parent()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var first = NewChild(parent, owner);
        var second = NewChild(parent, owner);
        (await Clients.CreateAsync(first)).Should().BeTrue();
        (await Clients.CreateAsync(second)).Should().BeTrue();
        var hour = UsageHour.HourOf(Now);

        await Usage.AddAsync([Calls(first, hour, 2, notWhitelisted: 1), Calls(second, hour, 5)]);
        await Usage.AddAsync([Calls(first, hour, 3, quotaSpent: 4), Calls(first, hour.AddHours(1), 7)]);
        await Usage.AddAsync([Calls(first, hour.AddDays(-8), 100)]);

        var perParent = await Usage.HoursAsync(UsageScope.OfParent(parent.ClientId), hour.AddDays(-7), hour.AddHours(2));
        perParent.Select(h => (h.Hour, h.Admitted, h.NotWhitelisted, h.QuotaSpent)).Should().Equal((hour, 10, 1, 4), (hour.AddHours(1), 7, 0, 0));
        var perInstallation = await Usage.HoursAsync(UsageScope.OfInstallation(second.ClientId), hour.AddDays(-7), hour.AddHours(2));
        perInstallation.Select(h => (h.Hour, h.Admitted)).Should().Equal((hour, 5L));
        (await Database.QuerySingleOrDefaultAsync<long>("SELECT COUNT(*) FROM usage_hours", new { })).Should().Be(4);
    }

    [SkippableFact]
    public async Task Instances_adding_to_a_new_hour_together_lose_no_count()
    {
        var parent = await CreateParentAsync();
        var child = NewChild(parent, await CreateUserAsync());
        (await Clients.CreateAsync(child)).Should().BeTrue();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => new UsageStore(Database).AddAsync([Calls(child, Now, 1)]))));

        (await Usage.HoursAsync(UsageScope.OfInstallation(child.ClientId), Now.AddHours(-1), Now.AddHours(1))).Single().Admitted.Should().Be(8);
    }

    [SkippableFact]
    public async Task Parents_are_searched_by_name_prefix_or_id_and_by_vendor_and_the_vendor_is_kept()
    {
        var vendor = await CreateUserAsync();
        var ghost = await CreateParentAsync();
        var percent = NewStandard("100% Photos") with { Role = new ParentRole { CallbackPath = "/cb", OwnerUserId = vendor.UserId } };
        (await Clients.CreateAsync(percent)).Should().BeTrue();

        (await Clients.SearchParentsAsync(new ParentSearch("100%"), null, 10)).Items.Select(c => c.ClientId).Should().Equal(percent.ClientId);
        (await Clients.SearchParentsAsync(new ParentSearch("1_0"), null, 10)).Items.Should().BeEmpty("LIKE's wildcards are matched as text");
        (await Clients.SearchParentsAsync(new ParentSearch(ghost.ClientId), null, 10)).Items.Select(c => c.ClientId).Should().Equal(ghost.ClientId);
        (await Clients.SearchParentsAsync(new ParentSearch(OwnerUserId: vendor.UserId), null, 10)).Items.Select(c => c.ClientId).Should().Equal(percent.ClientId);
        (await Clients.SearchParentsAsync(new ParentSearch(), null, 10)).Items.Should().HaveCount(2);
        ((ParentRole)(await Clients.FindAsync(percent.ClientId))!.Role).OwnerUserId.Should().Be(vendor.UserId);
        // Owning a parent is not owning an installation: the owner's installations and disabling the owner leave it alone.
        (await Clients.ListChildrenOwnedByAsync(vendor.UserId)).Should().BeEmpty();
        (await Users.DisableAsync(vendor.UserId, Now, Entry(AuditActions.UserDisabled))).Should().Be(0);
        (await Clients.FindAsync(percent.ClientId))!.DisabledAt.Should().BeNull();
    }

    [SkippableFact]
    public async Task The_kill_switch_count_is_the_parents_active_children()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var children = Enumerable.Range(0, 3).Select(_ => NewChild(parent, owner)).ToList();
        foreach (var child in children)
        {
            (await Clients.CreateAsync(child)).Should().BeTrue();
        }
        (await Clients.SaveAsync(children[0] with { DisabledAt = Now }, children[0].Version)).Should().Be(WriteOutcome.Done);
        (await Clients.SaveAsync(children[1] with { RevokedAt = Now }, children[1].Version)).Should().Be(WriteOutcome.Done);

        (await Clients.CountActiveChildrenAsync(parent.ClientId)).Should().Be(1);
    }
}
