using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class EndpointPatternTests
{
    [Theory]
    [InlineData("GET /photos", "GET /photos")]
    [InlineData("get /photos", "GET /photos")]
    [InlineData("  Post   /photos/*/like  ", "POST /photos/*/like")]
    [InlineData("GET /", "GET /")]
    [InlineData("HEAD /photos", "HEAD /photos")]
    [InlineData("PUT /a", "PUT /a")]
    [InlineData("PATCH /a", "PATCH /a")]
    [InlineData("DELETE /a/*", "DELETE /a/*")]
    [InlineData("GET /a-b/c_d/e.f/g~h/123", "GET /a-b/c_d/e.f/g~h/123")]
    [InlineData("GET /*/*", "GET /*/*")]
    public void A_well_formed_pattern_parses_to_its_normal_form(string text, string normal)
    {
        var pattern = EndpointPattern.TryParse(text, out var problem);
        problem.Should().BeNull();
        pattern!.ToString().Should().Be(normal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("GET")]
    [InlineData("/photos")]
    [InlineData("GET /photos extra")]
    [InlineData("FETCH /photos")]
    [InlineData("OPTIONS /photos")]
    [InlineData("CONNECT /photos")]
    [InlineData("TRACE /photos")]
    [InlineData("GET photos")]
    [InlineData("GET *")]
    [InlineData("GET /photos?x=1")]
    [InlineData("GET /photos#x")]
    [InlineData("GET /photos/")]
    [InlineData("GET //photos")]
    [InlineData("GET /photos//x")]
    [InlineData("GET /photos/.")]
    [InlineData("GET /photos/..")]
    [InlineData("GET /photos/a*")]
    [InlineData("GET /photos/**")]
    [InlineData("GET /photos/%2F")]
    [InlineData("GET /photos/caf\u00e9")]
    [InlineData("GET /photos/a:b")]
    public void A_malformed_pattern_is_refused_with_a_reason(string? text)
    {
        EndpointPattern.TryParse(text, out var problem).Should().BeNull();
        problem.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void A_pattern_over_200_characters_is_refused()
    {
        var longest = "GET /" + new string('a', EndpointPattern.MaxPatternLength - 5);
        EndpointPattern.TryParse(longest, out _).Should().NotBeNull();
        EndpointPattern.TryParse(longest + "a", out var problem).Should().BeNull();
        problem.Should().Contain("at most 200");
    }

    [Theory]
    [InlineData("GET /photos", "GET", "/photos")]
    [InlineData("GET /photos", "get", "/photos")]
    [InlineData("GET /photos", "HEAD", "/photos")]
    [InlineData("GET /photos", "head", "/photos")]
    [InlineData("GET /photos", "GET", "/photos/")]
    [InlineData("GET /photos/*", "GET", "/photos/abc")]
    [InlineData("GET /photos/*", "GET", "/photos/random")]
    [InlineData("GET /photos/*/like", "GET", "/photos/abc/like")]
    [InlineData("GET /*", "GET", "/anything")]
    [InlineData("GET /", "GET", "/")]
    [InlineData("GET /", "GET", "")]
    [InlineData("POST /photos", "POST", "/photos")]
    [InlineData("DELETE /photos/*", "delete", "/photos/1")]
    [InlineData("HEAD /photos", "HEAD", "/photos")]
    public void A_request_the_pattern_names_is_admitted(string pattern, string method, string path)
    {
        Parse(pattern).Matches(method, path).Should().BeTrue();
    }

    [Theory]
    // The wildcard is exactly one segment.
    [InlineData("GET /photos/*", "GET", "/photos")]
    [InlineData("GET /photos/*", "GET", "/photos/")]
    [InlineData("GET /photos/*", "GET", "/photos/a/b")]
    [InlineData("GET /photos/*", "GET", "/photos//")]
    [InlineData("GET /photos/*/like", "GET", "/photos//like")]
    [InlineData("GET /*", "GET", "/")]
    // No prefix matching, of paths or of segments.
    [InlineData("GET /photos", "GET", "/photos/abc")]
    [InlineData("GET /photos", "GET", "/photosx")]
    [InlineData("GET /photos", "GET", "/photo")]
    [InlineData("GET /", "GET", "/photos")]
    [InlineData("GET /photos/random", "GET", "/photos/random/x")]
    // Path segments are case-sensitive.
    [InlineData("GET /photos", "GET", "/Photos")]
    // One trailing slash is tolerated; other empty segments are not ("//photos" reads as a host).
    [InlineData("GET /photos", "GET", "/photos//")]
    [InlineData("GET /photos", "GET", "//photos")]
    [InlineData("GET /photos", "GET", "//photos/")]
    [InlineData("GET /", "GET", "//")]
    [InlineData("GET /a/b", "GET", "/a//b")]
    // Method: GET admits HEAD, nothing else admits another method.
    [InlineData("GET /photos", "POST", "/photos")]
    [InlineData("GET /photos", "OPTIONS", "/photos")]
    [InlineData("HEAD /photos", "GET", "/photos")]
    [InlineData("POST /photos", "GET", "/photos")]
    [InlineData("POST /photos", "HEAD", "/photos")]
    [InlineData("DELETE /photos/*", "GET", "/photos/1")]
    public void A_request_the_pattern_does_not_name_is_refused(string pattern, string method, string path)
    {
        Parse(pattern).Matches(method, path).Should().BeFalse();
    }

    [Fact]
    public void Normalising_a_list_canonicalises_and_drops_duplicates_in_order()
    {
        var normalised = EndpointPattern.TryNormalise(["get /b", "GET /a", "GET  /b", "post /a"], out var problem);
        problem.Should().BeNull();
        normalised.Should().Equal("GET /b", "GET /a", "POST /a");
    }

    [Fact]
    public void Normalising_a_list_reports_the_first_bad_pattern()
    {
        EndpointPattern.TryNormalise(["GET /a", "GET /b/c*", "nope"], out var problem).Should().BeNull();
        problem.Should().Contain("c*");
    }

    [Fact]
    public void At_most_100_endpoints_are_accepted()
    {
        var hundred = Enumerable.Range(0, EndpointPattern.MaxPatternsPerClient).Select(i => $"GET /p{i}").ToList();
        EndpointPattern.TryNormalise(hundred, out _).Should().HaveCount(100);
        EndpointPattern.TryNormalise([.. hundred, "GET /one-more"], out var problem).Should().BeNull();
        problem.Should().Contain("at most 100");
    }

    [Fact]
    public void The_default_child_endpoints_are_well_formed()
    {
        EndpointPattern.TryNormalise(EndpointPattern.DefaultChildEndpoints, out _).Should().Equal(EndpointPattern.DefaultChildEndpoints);
    }

    private static EndpointPattern Parse(string text) =>
        EndpointPattern.TryParse(text, out var problem) ?? throw new InvalidOperationException(problem);
}
