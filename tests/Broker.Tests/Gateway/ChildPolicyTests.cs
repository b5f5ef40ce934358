using Broker.Core.Clients;
using Broker.Core.Quotas;

namespace Broker.Tests.Gateway;

/// <summary>The rules of what a child may call and how often, and of the hourly window.</summary>
public sealed class ChildPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 30, 0, TimeSpan.Zero);

    private static ParentRole Parent(int? childRateLimit, params string[] endpoints) => new()
    {
        ChildRateLimit = childRateLimit, ChildEndpoints = endpoints.Length == 0 ? null : endpoints,
    };

    private static InstallationRole Child(int? rateLimit = null, params string[] endpoints) => new()
    {
        ParentClientId = "parent", OwnerUserId = "owner", RateLimit = rateLimit, Endpoints = endpoints.Length == 0 ? null : endpoints,
    };

    [Theory]
    [InlineData(null, null, 3000)]
    [InlineData(null, 500, 500)]
    [InlineData(100, 500, 100)]
    [InlineData(900, 500, 500)]
    [InlineData(900, null, 900)]
    public void The_quota_is_the_childs_override_the_parents_or_the_default_and_never_above_the_parents(int? own, int? parents, int expected) =>
        ChildPolicy.EffectiveRateLimit(Child(own), Parent(parents), 3000).Should().Be(expected);

    [Fact]
    public void Without_lists_a_child_gets_the_default_public_read_api()
    {
        var whitelist = ChildPolicy.EffectiveEndpoints(Child(), Parent(null));
        whitelist.Permits("GET", "/photos/abc").Should().BeTrue();
        whitelist.Permits("HEAD", "/photos").Should().BeTrue();
        whitelist.Permits("POST", "/photos/abc/like").Should().BeFalse();
    }

    [Fact]
    public void A_childs_own_list_is_intersected_with_its_parents()
    {
        var whitelist = ChildPolicy.EffectiveEndpoints(Child(null, "GET /photos/*", "GET /me"), Parent(null, "GET /photos/*", "GET /photos"));
        whitelist.Permits("GET", "/photos/abc").Should().BeTrue();
        whitelist.Permits("GET", "/photos").Should().BeFalse();
        whitelist.Permits("GET", "/me").Should().BeFalse();
    }

    [Fact]
    public void The_window_is_the_utc_clock_hour()
    {
        var window = QuotaWindow.At(Now);
        window.Start.Should().Be(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        window.End.Should().Be(new DateTimeOffset(2026, 11, 29, 13, 0, 0, TimeSpan.Zero));
        window.RemainingAt(Now).Should().Be(TimeSpan.FromMinutes(30));
        QuotaWindow.At(window.End).Should().NotBe(window);
        QuotaWindow.At(window.End.AddTicks(-1)).Should().Be(window);
    }
}
