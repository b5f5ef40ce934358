using System.Net;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Gateway;
using Broker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using static Broker.Tests.Gateway.GatewayCalls;

namespace Broker.Tests.Gateway;

/// <summary>
/// Hot keys are read again ahead of their expiry, in batches, so a key in steady use never waits for its
/// reload; the cache's bound (Gateway:ClientCacheDuration) holds for them as for any key. Real SQLite, the
/// hour and the refresher's rounds driven by the fake clock.
/// </summary>
public sealed class HotKeyRefreshTests : IDisposable
{
    private static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(5);

    private readonly BrokerFactory broker = new();

    public void Dispose() => broker.Dispose();

    private async Task<(Client Child, Core.Accounts.User Owner)> ChildAsync(CreatedApplication parent)
    {
        var owner = await broker.CreateUserAsync($"owner-{Guid.NewGuid():N}@blog.example");
        return (await CreateChildAsync(broker, parent, owner), owner);
    }

    // Loaded by one call and asked for again by a second: a hot key.
    private static async Task MakeHotAsync(HttpClient api, Client child)
    {
        for (var call = 0; call < 2; call++)
        {
            (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    private Task<bool> RevokeAsync(Client child, Core.Accounts.User owner) =>
        broker.Services.GetRequiredService<IClientStore>().RevokeOwnedChildAsync(owner.UserId, child.ClientId, broker.Time.GetUtcNow());

    [Fact]
    public async Task A_key_in_steady_use_is_read_again_ahead_so_its_revocation_reaches_the_gate_before_the_entry_expires()
    {
        var parent = await broker.CreateParentAsync();
        var (child, owner) = await ChildAsync(parent);
        var api = broker.CreateApiClient();
        await MakeHotAsync(api, child);
        (await RevokeAsync(child, owner)).Should().BeTrue();

        // Three fifths into the entry's life: the refresher's round finds it due and reads it again. No
        // call's reload could have seen the revocation yet (the entry is still valid for 2 s).
        broker.Time.Advance(CacheDuration * 0.6);

        var refused = false;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!refused && DateTime.UtcNow < deadline)
        {
            refused = (await CallAsync(api, child.ClientId, "/photos")).StatusCode == HttpStatusCode.Unauthorized;
            await Task.Delay(20);
        }
        refused.Should().BeTrue("the refresher should have read the hot key again and found it revoked");
    }

    [Fact]
    public async Task Only_keys_asked_for_again_since_their_load_are_read_ahead()
    {
        var parent = await broker.CreateParentAsync();
        var (once, onceOwner) = await ChildAsync(parent);
        var (hot, hotOwner) = await ChildAsync(parent);
        var unknown = Secret.NewClientId();
        var api = broker.CreateApiClient();
        (await CallAsync(api, once.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        await MakeHotAsync(api, hot);
        (await CallAsync(api, unknown, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await CallAsync(api, unknown, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await RevokeAsync(once, onceOwner)).Should().BeTrue();
        (await RevokeAsync(hot, hotOwner)).Should().BeTrue();

        // Asked for once (its load) or unknown: left to expire. Asked for again: read, and found revoked.
        (await Cache.RefreshHotKeysAsync(CacheDuration, CancellationToken.None)).Should().Be(1);

        (await CallAsync(api, hot.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await CallAsync(api, once.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK, "its cached answer stands until it expires");
    }

    [Fact]
    public async Task A_key_read_ahead_is_answered_from_that_read_for_no_longer_than_the_cache_duration()
    {
        var parent = await broker.CreateParentAsync();
        var (steady, owner) = await ChildAsync(parent);
        var api = broker.CreateApiClient();
        await MakeHotAsync(api, steady);
        // A quarter into the load's life (the refresher's own round does not take it yet: it looks two rounds ahead).
        broker.Time.Advance(CacheDuration / 4);
        (await Cache.RefreshHotKeysAsync(CacheDuration, CancellationToken.None)).Should().Be(1);
        (await RevokeAsync(steady, owner)).Should().BeTrue();

        // The revocation came after the read: the read's answer stands past the load's expiry, for the
        // duration counted from the read and no longer.
        broker.Time.Advance(CacheDuration - TimeSpan.FromSeconds(1));
        (await CallAsync(api, steady.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        broker.Time.Advance(TimeSpan.FromSeconds(1));
        (await CallAsync(api, steady.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_change_to_a_hot_childs_parent_is_read_ahead_with_it()
    {
        var parent = await broker.CreateParentAsync(childRateLimit: 50);
        var (child, _) = await ChildAsync(parent);
        var api = broker.CreateApiClient();
        (await CallAsync(api, child.ClientId, "/photos")).StatusCode.Should().Be(HttpStatusCode.OK);
        Header(await CallAsync(api, child.ClientId, "/photos"), "X-Ratelimit-Limit").Should().Be("50");

        // Only the parent's version moves; the child's read says unchanged, its parent's says read it whole.
        await broker.Administration.EnableParentAsync(parent.Client.ClientId, RedirectPolicy.Installation, "/broker/callback", 7, []);
        (await Cache.RefreshHotKeysAsync(CacheDuration, CancellationToken.None)).Should().Be(1);

        Header(await CallAsync(api, child.ClientId, "/photos"), "X-Ratelimit-Limit").Should().Be("7");
    }

    private ClientCache Cache => broker.Services.GetRequiredService<ClientCache>();
}
