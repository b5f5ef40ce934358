using Broker.Core.Security;

namespace Broker.Core.Tests;

public sealed class SecretTests
{
    [Fact]
    public void Tokens_are_256_bits_of_hex_and_never_repeat()
    {
        var tokens = Enumerable.Range(0, 1000).Select(_ => Secret.NewToken()).ToList();
        tokens.Should().OnlyContain(token => token.Length == 64 && token.All(char.IsAsciiHexDigitLower));
        tokens.Distinct().Should().HaveCount(tokens.Count);
    }

    [Fact]
    public void Client_ids_are_letters_and_digits_and_start_with_a_letter()
    {
        for (var i = 0; i < 1000; i++)
        {
            var clientId = Secret.NewClientId();
            clientId.Should().MatchRegex("^c[0-9a-z]{9}[A-Za-z0-9]{22}$");
            Secret.IsWellFormedClientId(clientId).Should().BeTrue();
        }
    }

    [Fact]
    public void Client_ids_minted_later_sort_later_so_new_clients_append_to_their_indexes()
    {
        var start = new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 2000).Select(step => Secret.NewClientId(start.AddMilliseconds(step * 7919L))).ToList();
        ids.Should().BeInAscendingOrder(StringComparer.Ordinal);
        Secret.NewClientId(start.AddYears(3000)).Should().MatchRegex("^c[0-9a-z]{9}");
        string.CompareOrdinal(Secret.NewClientId(start.AddYears(3000)), ids[^1]).Should().BePositive();
    }

    [Fact]
    public void Client_ids_minted_in_the_same_millisecond_still_differ_in_131_random_bits()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 10_000).Select(_ => Secret.NewClientId(now)).ToList();
        ids.Select(id => id[..10]).Distinct().Should().ContainSingle("the prefix is the minting time alone");
        ids.Distinct().Should().HaveCount(ids.Count);
        // Every random position draws from all 62 letters and digits.
        ids.SelectMany(id => id[10..]).Distinct().Should().HaveCount(62);
    }

    [Fact]
    public void A_secret_matches_only_its_own_hash()
    {
        var secret = Secret.NewToken();
        var hash = Secret.Hash(secret);
        hash.Should().NotContain(secret);
        Secret.Matches(secret, hash).Should().BeTrue();
        Secret.Matches(Secret.NewToken(), hash).Should().BeFalse();
        Secret.Matches(secret, null).Should().BeFalse();
    }

    [Theory]
    [InlineData("abcdefghijklmnopqrstuvwx", true)]
    [InlineData("A1234567890123456789012345678901", true)]
    [InlineData("0abcdefghijklmnopqrstuvw", true)]
    [InlineData("abcdefghijklmnopqrstuvw", false)]
    [InlineData("-abcdefghijklmnopqrstuvwx", false)]
    [InlineData("abcdefghijklmnopqrstuvw-", false)]
    [InlineData("abcdefghijkl_mnopqrstuvwx", false)]
    [InlineData("abcdefghijkl mnopqrstuvwx", false)]
    [InlineData("abcdefghijklmnopqrstuvw\u00e9", false)]
    [InlineData("abcdefghijklmnopqrstuvw\uff11", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_ids_of_24_or_more_ascii_letters_and_digits_are_taken_for_client_ids(string? clientId, bool wellFormed)
    {
        Secret.IsWellFormedClientId(clientId).Should().Be(wellFormed);
    }

    [Fact]
    public void Client_ids_over_64_characters_are_refused_before_any_lookup()
    {
        Secret.IsWellFormedClientId(new string('a', 64)).Should().BeTrue();
        Secret.IsWellFormedClientId(new string('a', 65)).Should().BeFalse();
    }

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    public void The_stored_form_is_lowercase_hex_sha_256(string secret, string hash)
    {
        Secret.Hash(secret).Should().Be(hash);
        Secret.Matches(secret, hash).Should().BeTrue();
        Secret.Matches(secret, hash[..^1]).Should().BeFalse();
    }

    [Theory]
    [InlineData("0123456789abcdef", "cdef")]
    [InlineData("abcd", "abcd")]
    [InlineData("ab", "ab")]
    public void A_fingerprint_shows_only_the_last_four_characters(string secret, string fingerprint)
    {
        Secret.Fingerprint(secret).Should().Be(fingerprint);
    }
}
