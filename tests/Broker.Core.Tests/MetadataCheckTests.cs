using System.Text.Json;
using Broker.Core.Clients;

namespace Broker.Core.Tests;

/// <summary>ClientMetadataRules.Check: every refusal at once, and Validate answering the first of the same list.</summary>
public sealed class MetadataCheckTests
{
    private static MetadataCheck Check(string json, MetadataContract contract = MetadataContract.OktaCreate)
    {
        using var document = JsonDocument.Parse(json);
        return ClientMetadataRules.Check(document.RootElement, contract);
    }

    [Fact]
    public void A_field_given_twice_is_refused_by_its_pointer_and_the_rest_still_judged()
    {
        // The HTTP reader refuses duplicates before any rule runs; a document from elsewhere still meets this rule.
        var check = Check("""{"client_name":"A","client_name":"B","redirect_uris":["http://app.example/cb"]}""");

        check.Refusals.Select(r => (r.Field, r.Rule.Id)).Should().Equal(("/client_name", "field_once"), ("/redirect_uris/0", "redirect_uri"));
        check.Metadata.Should().BeNull();
    }

    [Fact]
    public void Validate_answers_the_first_refusal_of_check()
    {
        const string json = """{"client_name":"","application_type":"desktop","contacts":[""],"redirect_uris":[]}""";
        using var document = JsonDocument.Parse(json);

        var check = ClientMetadataRules.Check(document.RootElement, MetadataContract.OktaCreate);
        var validation = ClientMetadataRules.Validate(document.RootElement, MetadataContract.OktaCreate);

        check.Refusals.Select(r => r.Rule.Id).Should().Equal("client_name", "application_type", "redirect_uris_required", "contacts");
        validation.Error.Should().Be(check.Refusals[0].Error);
    }

    [Fact]
    public void A_wrong_type_is_refused_once_not_again_as_missing()
    {
        var check = Check("""{"client_name":7,"redirect_uris":"https://app.example/cb"}""");

        check.Refusals.Select(r => (r.Field, r.Rule.Id)).Should().Equal(("/client_name", "field_type"), ("/redirect_uris", "field_type"));
    }

    [Fact]
    public void Pointers_escape_slash_and_tilde()
    {
        Refusal.FieldPath("a/b~c", 2).Should().Be("/a~1b~0c/2");
    }
}
