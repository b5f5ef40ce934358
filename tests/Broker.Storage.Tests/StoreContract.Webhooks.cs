using Broker.Core.Platform;
using Broker.Core.Webhooks;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

/// <summary>Webhook subscriptions as cursors over the audit log, under the same contract for every provider.</summary>
public abstract partial class StoreContract
{
    protected WebhookStore Webhooks => new(Database);

    private async Task<WebhookSubscription> SubscribeAsync(string id = "wh1", params string[] eventTypes) =>
        await Webhooks.CreateAsync(new WebhookSubscription
        {
            Id = id,
            Url = "https://hooks.example/in",
            EventTypes = eventTypes,
            ProtectedSecret = "protected",
            CreatedAt = Now,
        }, new AuditActor("admin-token:t").Entry(AuditActions.WebhookCreated, AuditActions.Webhook(id), Now));

    [SkippableFact]
    public async Task A_subscription_starts_after_the_newest_entry_so_its_own_creation_is_the_first_it_receives()
    {
        await Audit.AppendAsync(Entry(AuditActions.ClientCreated));
        var before = (await Audit.QueryAsync(new AuditQuery())).Items.Single().Id;

        var subscription = await SubscribeAsync("wh1", AuditActions.ClientChanged);

        subscription.Cursor.Should().Be(before);
        subscription.EventTypes.Should().Equal(AuditActions.ClientChanged);
        var pending = await Webhooks.EntriesAfterAsync(subscription.Cursor, 10);
        pending.Select(entry => entry.Action).Should().Equal(AuditActions.WebhookCreated);
    }

    [SkippableFact]
    public async Task Of_racing_instances_exactly_one_takes_the_lease_and_only_it_moves_the_cursor()
    {
        var subscription = await SubscribeAsync();

        var leased = await RaceAsync(Racers, async i =>
            await Webhooks.TryLeaseAsync(subscription.Id, $"instance-{i}", Now, Now.AddMinutes(1)) is not null);

        leased.Count(won => won).Should().Be(1);
        var owner = $"instance-{Array.IndexOf(leased, true)}";
        var other = $"instance-{(Array.IndexOf(leased, true) + 1) % Racers}";
        (await Webhooks.AdvanceAsync(subscription.Id, other, subscription.Cursor, subscription.Cursor + 1)).Should().BeFalse("it holds no lease");
        (await Webhooks.AdvanceAsync(subscription.Id, owner, subscription.Cursor, subscription.Cursor + 1)).Should().BeTrue();
        (await Webhooks.AdvanceAsync(subscription.Id, owner, subscription.Cursor, subscription.Cursor + 2)).Should().BeFalse("the cursor it read has moved");
        (await Webhooks.FindAsync(subscription.Id))!.Cursor.Should().Be(subscription.Cursor + 1);

        (await Webhooks.TryLeaseAsync(subscription.Id, other, Now.AddSeconds(59), Now.AddMinutes(2))).Should().BeNull("the lease has not expired");
        (await Webhooks.TryLeaseAsync(subscription.Id, other, Now.AddMinutes(1), Now.AddMinutes(2))).Should().NotBeNull("an expired lease is taken over");
        (await Webhooks.RenewLeaseAsync(subscription.Id, owner, Now.AddMinutes(3))).Should().BeFalse("the lease was lost");
    }

    [SkippableFact]
    public async Task A_parked_subscription_is_not_leased_until_a_replay_which_can_move_its_cursor_back()
    {
        var subscription = await SubscribeAsync();
        (await Webhooks.TryLeaseAsync(subscription.Id, "a", Now, Now.AddMinutes(1))).Should().NotBeNull();
        (await Webhooks.RecordFailureAsync(subscription.Id, "a", subscription.Cursor, 3, "the receiver answered 500", Now)).Should().BeTrue();
        await Webhooks.ReleaseLeaseAsync(subscription.Id, "a");

        var parked = (await Webhooks.FindAsync(subscription.Id))!;
        parked.ParkedAt.Should().Be(ToMilliseconds(Now));
        parked.Failures.Should().Be(3);
        parked.LastError.Should().Be("the receiver answered 500");
        (await Webhooks.TryLeaseAsync(subscription.Id, "b", Now, Now.AddMinutes(1))).Should().BeNull("parked");

        (await Webhooks.ReplayAsync(subscription.Id, 1, new AuditActor("cli:local").Entry(AuditActions.WebhookReplayed, AuditActions.Webhook(subscription.Id), Now)))
            .Should().BeTrue();

        var replayed = (await Webhooks.FindAsync(subscription.Id))!;
        replayed.ParkedAt.Should().BeNull();
        replayed.Failures.Should().Be(0);
        replayed.Cursor.Should().Be(0, "entry 1 and what follows are delivered again");
        (await Webhooks.TryLeaseAsync(subscription.Id, "b", Now, Now.AddMinutes(1))).Should().NotBeNull();
        (await Webhooks.ReplayAsync("missing", null, Entry(AuditActions.WebhookReplayed))).Should().BeFalse();

        // A cursor past the log's end would skip entries written later: refused, and the cursor stays.
        var newest = (await Webhooks.EntriesAfterAsync(0, 10_000)).Max(entry => entry.Id);
        (await Webhooks.ReplayAsync(subscription.Id, newest + 2, Entry(AuditActions.WebhookReplayed))).Should().BeFalse();
        (await Webhooks.FindAsync(subscription.Id))!.Cursor.Should().Be(0);
        (await Webhooks.ReplayAsync(subscription.Id, newest + 1, Entry(AuditActions.WebhookReplayed))).Should().BeTrue("from the next entry: only what is written from now on");
        (await Webhooks.FindAsync(subscription.Id))!.Cursor.Should().Be(newest);
    }

    [SkippableFact]
    public async Task Rotating_keeps_the_previous_secret_and_deleting_writes_its_entry()
    {
        var subscription = await SubscribeAsync();

        (await Webhooks.RotateSecretAsync(subscription.Id, "protected-2", Now.AddDays(1), Entry(AuditActions.WebhookSecretRotated))).Should().BeTrue();
        var rotated = (await Webhooks.FindAsync(subscription.Id))!;
        rotated.ProtectedSecret.Should().Be("protected-2");
        rotated.PreviousProtectedSecret.Should().Be("protected");
        rotated.PreviousSecretExpiresAt.Should().Be(ToMilliseconds(Now.AddDays(1)));

        (await Webhooks.DeleteAsync(subscription.Id, Entry(AuditActions.WebhookDeleted))).Should().BeTrue();
        (await Webhooks.DeleteAsync(subscription.Id, Entry(AuditActions.WebhookDeleted))).Should().BeFalse();
        (await Webhooks.ListAsync()).Should().BeEmpty();
        (await Audit.QueryAsync(new AuditQuery { Action = AuditActions.WebhookDeleted })).Items.Should().ContainSingle("a refused delete writes no entry");
    }
}
