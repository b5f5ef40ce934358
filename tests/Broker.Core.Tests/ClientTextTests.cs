using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class ClientTextTests
{
    public static TheoryData<string> AcceptableNames() =>
    [
        "My Blog",
        "x",
        "<script>alert(1)</script>",
        "Café \u65e5\u672c \U0001F600",
        new string('n', ClientText.MaxNameLength),
    ];

    public static TheoryData<string?, string> RefusedNames() => new()
    {
        { null, "required" },
        { "", "required" },
        { "   ", "required" },
        { "\t\n", "required" },
        { new string('n', ClientText.MaxNameLength + 1), "at most 200" },
        { "line\nbreak", "control" },
        { "tab\there", "control" },
        { "carriage\rreturn", "control" },
        { "nul\0", "control" },
        { "bell\u0007", "control" },
        { "del\u007f", "control" },
        { "next line\u0085", "control" },
        { "line\u2028separator", "control" },
        { "paragraph\u2029separator", "control" },
    };

    [Theory]
    [MemberData(nameof(AcceptableNames))]
    public void A_recognisable_name_is_accepted_as_text(string name)
    {
        ClientText.NameProblem(name).Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(RefusedNames))]
    public void A_name_that_is_missing_too_long_or_hides_text_is_refused(string? name, string reason)
    {
        ClientText.NameProblem(name).Should().NotBeNull().And.Contain(reason);
    }

    // Lone surrogates do not survive xunit's serialisation of theory data: '^' stands for a high
    // surrogate and '_' for a low one.
    [Theory]
    [InlineData("lone high ^ here")]
    [InlineData("ends with a high ^")]
    [InlineData("lone low _ here")]
    [InlineData("reversed pair _^")]
    public void Names_and_descriptions_with_broken_surrogates_are_refused(string template)
    {
        var broken = template.Replace('^', '\uD83D').Replace('_', '\uDE00');
        ClientText.NameProblem(broken).Should().Contain("Unicode");
        ClientText.DescriptionProblem(broken).Should().Contain("Unicode");
    }

    [Fact]
    public void A_whole_surrogate_pair_is_text()
    {
        ClientText.NameProblem("pair ^_ here".Replace('^', '\uD83D').Replace('_', '\uDE00')).Should().BeNull();
    }

    [Fact]
    public void The_problem_names_the_field_it_was_given()
    {
        ClientText.NameProblem("", "client_name").Should().StartWith("client_name");
        ClientText.DescriptionProblem("\0", "about").Should().StartWith("about");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("Two\nlines\r\nand a\ttab")]
    [InlineData("<b>markup</b> & more")]
    [InlineData("\U0001F600 emoji")]
    public void A_description_may_be_absent_and_may_break_lines(string? description)
    {
        ClientText.DescriptionProblem(description).Should().BeNull();
    }

    [Fact]
    public void A_description_of_2000_characters_is_accepted_and_one_more_is_refused()
    {
        var longest = new string('d', ClientText.MaxDescriptionLength);
        ClientText.DescriptionProblem(longest).Should().BeNull();
        ClientText.DescriptionProblem(longest + "d").Should().Contain("at most 2000");
    }

    [Theory]
    [InlineData("nul\0", "control")]
    [InlineData("escape\u001b[31m", "control")]
    [InlineData("vertical\vtab", "control")]
    [InlineData("form\ffeed", "control")]
    [InlineData("line\u2028separator", "control")]
    public void A_description_with_control_characters_is_refused(string description, string reason)
    {
        ClientText.DescriptionProblem(description).Should().Contain(reason);
    }
}
