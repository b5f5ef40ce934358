using System.Reflection;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Registration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Tests;

/// <summary>
/// The tenant cap's count: read once before the first registration, then refreshed in the background,
/// so that no registration waits for a COUNT over a large table (it held every registration behind it).
/// </summary>
public sealed class OpenRegistrationCapTests
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
    private readonly CountingStore counts = CountingStore.Create();

    private OpenRegistrationCap Cap(int max) =>
        new(counts.Store, Options.Create(new RegistrationOptions { MaxOpenClients = max }), time, NullLogger<OpenRegistrationCap>.Instance);

    [Fact]
    public async Task The_first_registration_waits_for_the_count_and_later_ones_count_locally()
    {
        using var cap = Cap(max: 3);
        counts.Next(1);

        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();
        cap.Registered();
        cap.Registered();
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeFalse("1 stored and 2 registered here make the cap of 3");
        counts.Reads.Should().Be(1, "within the interval nothing is read again");
    }

    [Fact]
    public async Task A_due_refresh_runs_beside_registrations_which_never_wait_for_it()
    {
        using var cap = Cap(max: 3);
        counts.Next(3);
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeFalse();

        var slowCount = counts.NextLater();
        time.Advance(OpenRegistrationCap.RefreshInterval);
        var during = cap.HasRoomAsync(CancellationToken.None);
        during.IsCompleted.Should().BeTrue("the refresh is under way, and the answer comes from the local count");
        (await during).Should().BeFalse();
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeFalse("one refresh at a time");
        counts.Reads.Should().Be(2);

        // The store now holds one client (two were deleted): the refreshed count makes room.
        slowCount.SetResult(1);
        await cap.LastRefresh;
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();
    }

    [Fact]
    public async Task Registrations_made_while_the_count_is_read_still_count_after_it()
    {
        using var cap = Cap(max: 3);
        counts.Next(0);
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();

        var slowCount = counts.NextLater();
        time.Advance(OpenRegistrationCap.RefreshInterval);
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();
        cap.Registered();
        cap.Registered();
        cap.Registered();
        // The count was taken before those three committed.
        slowCount.SetResult(0);
        await cap.LastRefresh;
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeFalse("0 read, and 3 registered here since the read began");
    }

    [Fact]
    public async Task A_refresh_that_fails_keeps_the_local_count_and_tries_again_next_interval()
    {
        using var cap = Cap(max: 3);
        counts.Next(2);
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();

        var failing = counts.NextLater();
        time.Advance(OpenRegistrationCap.RefreshInterval);
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();
        failing.SetException(new TimeoutException("database down"));
        await cap.LastRefresh;
        cap.Registered();
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeFalse("2 read before the failure and 1 since");

        counts.Next(0);
        time.Advance(OpenRegistrationCap.RefreshInterval);
        await cap.HasRoomAsync(CancellationToken.None);
        await cap.LastRefresh;
        (await cap.HasRoomAsync(CancellationToken.None)).Should().BeTrue();
        counts.Reads.Should().Be(3);
    }

    /// <summary>An <see cref="IClientStore"/> that answers only the count, with values the test hands it.</summary>
    public class CountingStore : DispatchProxy
    {
        private readonly Queue<TaskCompletionSource<long>> answers = new();

        public IClientStore Store { get; private set; } = null!;

        public int Reads { get; private set; }

        public static CountingStore Create()
        {
            var store = Create<IClientStore, CountingStore>();
            var proxy = (CountingStore)(object)store;
            proxy.Store = store;
            return proxy;
        }

        public void Next(long count) => NextLater().SetResult(count);

        public TaskCompletionSource<long> NextLater()
        {
            var answer = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            answers.Enqueue(answer);
            return answer;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(IClientStore.CountOpenRegisteredAsync))
            {
                throw new NotSupportedException(targetMethod?.Name);
            }
            Reads++;
            return answers.Dequeue().Task;
        }
    }
}
