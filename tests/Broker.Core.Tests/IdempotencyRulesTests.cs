using Broker.Core.Authorization;

namespace Broker.Core.Tests;

public sealed class IdempotencyRulesTests
{
    public static TheoryData<string[], string?, bool> Keys => new()
    {
        { [], null, false },
        { ["abc-123"], "abc-123", false },
        { ["\"abc-123\""], "abc-123", false },
        { ["  abc 123  "], "abc 123", false },
        { [new string('k', IdempotencyRules.MaxKeyLength)], new string('k', IdempotencyRules.MaxKeyLength), false },
        { [new string('k', IdempotencyRules.MaxKeyLength + 1)], null, true },
        { [""], null, true },
        { ["\"\""], null, true },
        { ["   "], null, true },
        { ["one", "two"], null, true },
        { ["caf\u00e9"], null, true },
        { ["tab\tkey"], null, true },
        { ["bell\u0007"], null, true },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void A_key_is_one_printable_ascii_string_of_1_to_255_characters_quoted_or_bare(string[] headerValues, string? key, bool refused)
    {
        var (parsed, problem) = IdempotencyRules.ParseKey(headerValues);

        parsed.Should().Be(key);
        (problem is not null).Should().Be(refused);
    }

    [Fact]
    public void The_same_fields_give_the_same_fingerprint_and_a_field_moved_across_does_not()
    {
        IdempotencyRules.Fingerprint("My blog", "").Should().Be(IdempotencyRules.Fingerprint("My blog", ""));
        IdempotencyRules.Fingerprint("My blog", "").Should().NotBe(IdempotencyRules.Fingerprint("My blog", " "));
        IdempotencyRules.Fingerprint("ab", "c").Should().NotBe(IdempotencyRules.Fingerprint("a", "bc"));
    }

    public static TheoryData<string?, string?, ReplayDecision> Retries => new()
    {
        { "key-1", "body-1", ReplayDecision.Replay },
        { "key-1", "body-2", ReplayDecision.DifferentBody },
        { "key-1", null, ReplayDecision.DifferentBody },
        { "key-2", "body-1", ReplayDecision.AlreadyUsed },
        { "KEY-1", "body-1", ReplayDecision.AlreadyUsed },
        { null, "body-1", ReplayDecision.AlreadyUsed },
    };

    [Theory]
    [MemberData(nameof(Retries))]
    public void A_spent_token_is_replayed_only_for_its_key_and_its_body(string? presentedKey, string? bodyFingerprint, ReplayDecision decision)
    {
        IdempotencyRules.Decide(presentedKey, bodyFingerprint, spentWithKey: "key-1", spentBodyFingerprint: "body-1").Should().Be(decision);
    }

    [Fact]
    public void A_token_spent_without_a_key_is_never_replayed()
    {
        IdempotencyRules.Decide(null, "body-1", spentWithKey: null, spentBodyFingerprint: "body-1").Should().Be(ReplayDecision.AlreadyUsed);
    }
}
