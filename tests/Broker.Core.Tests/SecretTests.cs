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
            clientId.Should().MatchRegex("^[A-Za-z][A-Za-z0-9]{31}$");
            Secret.IsWellFormedClientId(clientId).Should().BeTrue();
        }
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
}
