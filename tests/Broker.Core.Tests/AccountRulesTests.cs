using Broker.Core.Accounts;

namespace Broker.Core.Tests;

public sealed class AccountRulesTests
{
    [Theory]
    [InlineData("owner@example.com")]
    [InlineData("  owner@example.com  ")]
    [InlineData("first.last+tag@sub.example.co.uk")]
    [InlineData("a@b")]
    [InlineData("\u00fcser@b\u00fccher.example")]
    public void A_plausible_email_address_is_accepted(string email)
    {
        AccountRules.EmailProblem(email).Should().BeNull();
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("   ", "required")]
    [InlineData("owner", "like name@example.com")]
    [InlineData("@example.com", "like name@example.com")]
    [InlineData("owner@", "like name@example.com")]
    [InlineData("a@b@example.com", "like name@example.com")]
    [InlineData("own er@example.com", "like name@example.com")]
    [InlineData("owner@exa\tmple.com", "like name@example.com")]
    [InlineData("owner@example.com\0", "like name@example.com")]
    [InlineData("owner\u00a0@example.com", "like name@example.com")]
    public void A_missing_or_malformed_email_address_is_refused(string? email, string reason)
    {
        AccountRules.EmailProblem(email).Should().NotBeNull().And.Contain(reason);
    }

    [Fact]
    public void An_email_address_of_254_characters_is_accepted_and_one_more_is_refused()
    {
        var longest = new string('a', AccountRules.MaxEmailLength - "@example.com".Length) + "@example.com";
        AccountRules.EmailProblem(longest).Should().BeNull();
        AccountRules.EmailProblem("  " + longest + "  ").Should().BeNull();
        AccountRules.EmailProblem("a" + longest).Should().Contain("at most 254");
    }

    [Theory]
    [InlineData("Owner@Example.COM", "owner@example.com")]
    [InlineData("  owner@example.com\t", "owner@example.com")]
    [InlineData("OWNER@EXAMPLE.COM", "owner@example.com")]
    public void Email_addresses_that_differ_only_in_case_or_spacing_normalise_alike(string email, string normalized)
    {
        AccountRules.Normalize(email).Should().Be(normalized);
    }

    [Theory]
    [InlineData(null, "at least 8")]
    [InlineData("", "at least 8")]
    [InlineData("1234567", "at least 8")]
    public void A_short_password_is_refused(string? password, string reason)
    {
        AccountRules.PasswordProblem(password).Should().Contain(reason);
    }

    [Fact]
    public void Passwords_from_8_to_1024_characters_are_accepted()
    {
        AccountRules.PasswordProblem("12345678").Should().BeNull();
        AccountRules.PasswordProblem(new string('p', AccountRules.MaxPasswordLength)).Should().BeNull();
        AccountRules.PasswordProblem(new string('p', AccountRules.MaxPasswordLength + 1)).Should().Contain("at most 1024");
    }
}
