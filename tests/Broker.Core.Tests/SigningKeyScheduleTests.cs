using Broker.Core.Tokens;

namespace Broker.Core.Tests;

public sealed class SigningKeyScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly SigningKeyPolicy Policy = new(
        RotationInterval: TimeSpan.FromDays(30), PublicationLead: TimeSpan.FromDays(2), TokenLifetime: TimeSpan.FromMinutes(10));

    private static SigningKey Key(long generation, DateTimeOffset signsFrom) => new()
    {
        KeyId = $"k{generation}", Generation = generation, Algorithm = "RS256", PublicJwk = "{}", ProtectedPrivateKey = "x",
        CreatedAt = signsFrom - Policy.PublicationLead, SignsFrom = signsFrom,
    };

    [Fact]
    public void The_first_key_signs_at_once()
    {
        SigningKeySchedule.Due([], Start, Policy).Should().Be((1L, Start));
    }

    [Fact]
    public void The_next_key_is_due_a_lead_before_the_current_one_stops_and_signs_when_it_stops()
    {
        SigningKey[] keys = [Key(1, Start)];
        var stops = Start + Policy.RotationInterval;

        SigningKeySchedule.Due(keys, stops - Policy.PublicationLead - TimeSpan.FromTicks(1), Policy).Should().BeNull();
        SigningKeySchedule.Due(keys, stops - Policy.PublicationLead, Policy).Should().Be((2L, stops));
    }

    [Fact]
    public void After_a_long_stop_the_next_key_still_waits_a_full_lead_while_the_old_one_signs_on()
    {
        SigningKey[] keys = [Key(1, Start)];
        var late = Start + TimeSpan.FromDays(90);

        var due = SigningKeySchedule.Due(keys, late, Policy);

        due.Should().Be((2L, late + Policy.PublicationLead));
        SigningKeySchedule.Signer([.. keys, Key(2, due!.Value.SignsFrom)], late)!.Generation.Should().Be(1);
    }

    [Fact]
    public void A_waiting_key_is_published_but_does_not_sign_until_its_time()
    {
        var next = Start + Policy.RotationInterval;
        SigningKey[] keys = [Key(1, Start), Key(2, next)];

        SigningKeySchedule.Due(keys, next - TimeSpan.FromDays(1), Policy).Should().BeNull();
        SigningKeySchedule.Signer(keys, next - TimeSpan.FromTicks(1))!.Generation.Should().Be(1);
        SigningKeySchedule.Published(keys, next - TimeSpan.FromTicks(1), Policy).Select(key => key.Generation).Should().Equal(1, 2);
        SigningKeySchedule.Signer(keys, next)!.Generation.Should().Be(2);
    }

    [Fact]
    public void An_old_key_stays_published_until_the_last_token_it_signed_has_expired_with_the_skew()
    {
        var next = Start + Policy.RotationInterval;
        SigningKey[] keys = [Key(1, Start), Key(2, next)];
        var lastExpiry = next + Policy.TokenLifetime + SigningKeyPolicy.ClockSkew;

        SigningKeySchedule.Published(keys, lastExpiry - TimeSpan.FromTicks(1), Policy).Select(key => key.Generation).Should().Equal(1, 2);
        SigningKeySchedule.IsRetired(keys[0], keys, lastExpiry, Policy).Should().BeTrue();
        SigningKeySchedule.Published(keys, lastExpiry, Policy).Select(key => key.Generation).Should().Equal(2);
    }
}
