using Broker.Core.Authorization;

namespace Broker.Core.Tests;

public sealed class PkceTests
{
    // RFC 7636 appendix B: the 32 octets, their base64url verifier, and its S256 challenge.
    private static readonly byte[] AppendixBOctets =
        [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
         22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121];

    private const string AppendixBVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    private const string AppendixBChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    [Fact]
    public void The_rfc_7636_appendix_b_vector_holds()
    {
        Convert.ToBase64String(AppendixBOctets).TrimEnd('=').Replace('+', '-').Replace('/', '_').Should().Be(AppendixBVerifier);
        Pkce.ChallengeOf(AppendixBVerifier).Should().Be(AppendixBChallenge);
        Pkce.Verifies(AppendixBVerifier, AppendixBChallenge).Should().BeTrue();
    }

    [Theory]
    [InlineData("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK")]
    [InlineData("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0")]
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")]
    [InlineData("")]
    public void A_wrong_verifier_does_not_verify(string verifier)
    {
        Pkce.Verifies(verifier, AppendixBChallenge).Should().BeFalse();
    }

    [Theory]
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cm")]
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=")]
    [InlineData("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM")]
    [InlineData(AppendixBVerifier)]
    [InlineData("")]
    public void A_verifier_does_not_verify_against_another_challenge(string challenge)
    {
        Pkce.Verifies(AppendixBVerifier, challenge).Should().BeFalse();
    }

    [Fact]
    public void A_verifier_outside_rfc_7636_shape_never_verifies_even_against_its_own_challenge()
    {
        const string tooShort = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
        Pkce.Verifies(tooShort, Pkce.ChallengeOf(tooShort)).Should().BeFalse();
        const string withPlus = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF+G";
        Pkce.Verifies(withPlus, Pkce.ChallengeOf(withPlus)).Should().BeFalse();
    }

    [Theory]
    [InlineData(43, 'a', true)]
    [InlineData(128, 'a', true)]
    [InlineData(42, 'a', false)]
    [InlineData(129, 'a', false)]
    [InlineData(43, '-', true)]
    [InlineData(43, '.', true)]
    [InlineData(43, '_', true)]
    [InlineData(43, '~', true)]
    [InlineData(43, '+', false)]
    [InlineData(43, '/', false)]
    [InlineData(43, '=', false)]
    [InlineData(43, ' ', false)]
    [InlineData(43, '\u00e9', false)]
    public void Verifiers_and_challenges_are_43_to_128_unreserved_characters(int length, char filler, bool wellFormed)
    {
        Pkce.IsWellFormed(new string(filler, length)).Should().Be(wellFormed);
    }

    [Fact]
    public void A_missing_value_is_not_well_formed()
    {
        Pkce.IsWellFormed(null).Should().BeFalse();
    }
}
