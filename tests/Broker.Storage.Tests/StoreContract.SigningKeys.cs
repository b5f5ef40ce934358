using Broker.Core.Tokens;
using Broker.Storage.Stores;

namespace Broker.Storage.Tests;

public abstract partial class StoreContract
{
    private SigningKeyStore SigningKeys => new(Database);

    private static SigningKey SigningKeyOf(long generation, string keyId) => new()
    {
        KeyId = keyId,
        Generation = generation,
        Algorithm = "RS256",
        PublicJwk = $$"""{"kty":"RSA","kid":"{{keyId}}","n":"{{new string('n', 342)}}","e":"AQAB"}""",
        ProtectedPrivateKey = new string('p', 2400),
        CreatedAt = Now,
        SignsFrom = Now.AddDays(2),
    };

    [SkippableFact]
    public async Task A_signing_key_reads_back_as_written_and_keys_list_by_generation()
    {
        var second = SigningKeyOf(2, "kid-2");
        (await SigningKeys.AddAsync(second)).Should().BeTrue();
        (await SigningKeys.AddAsync(SigningKeyOf(1, "kid-1"))).Should().BeTrue();

        var keys = await SigningKeys.ListAsync();

        keys.Select(key => key.Generation).Should().Equal(1, 2);
        keys[1].Should().BeEquivalentTo(second with { CreatedAt = ToMilliseconds(Now), SignsFrom = ToMilliseconds(Now.AddDays(2)) });
    }

    [SkippableFact]
    public async Task Of_instances_racing_to_make_the_same_generation_exactly_one_stores_its_key()
    {
        var outcomes = await RaceAsync(Racers, i => SigningKeys.AddAsync(SigningKeyOf(1, $"kid-{i}")));

        outcomes.Count(added => added).Should().Be(1);
        var stored = (await SigningKeys.ListAsync()).Should().ContainSingle().Subject;
        stored.KeyId.Should().Be($"kid-{Array.IndexOf(outcomes, true)}");
    }

    [SkippableFact]
    public async Task Retired_keys_are_deleted_oldest_first_and_the_others_kept()
    {
        foreach (var generation in new long[] { 1, 2, 3 })
        {
            await SigningKeys.AddAsync(SigningKeyOf(generation, $"kid-{generation}"));
        }

        (await SigningKeys.DeleteThroughAsync(2)).Should().Be(2);
        (await SigningKeys.DeleteThroughAsync(2)).Should().Be(0);

        (await SigningKeys.ListAsync()).Select(key => key.KeyId).Should().Equal("kid-3");
    }
}
