using Broker.Core.Authorization;
using Broker.Core.Clients;

namespace Broker.Core.Tests;

public sealed class AuthorizationRulesTests
{
    private const string RedirectUri = "https://app.example.com/callback";
    private const string State = "xyz-123";
    private static readonly string Challenge = Pkce.ChallengeOf(new string('v', 43));

    private static readonly Client Confidential = new()
    {
        ClientId = "Aconfidential0000000000000000001",
        Metadata = new ClientMetadata { ClientName = "Confidential", RedirectUris = [RedirectUri, "http://127.0.0.1/native"] },
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    private static readonly Client Public = Confidential with
    {
        ClientId = "Apublic0000000000000000000000001",
        Metadata = Confidential.Metadata with { TokenEndpointAuthMethod = ClientAuthMethod.None },
    };

    private static readonly Client Parent = Confidential with
    {
        ClientId = "Aparent0000000000000000000000001",
        Role = new ParentRole { RedirectPolicy = RedirectPolicy.Installation, CallbackPath = "/broker/callback" },
        Metadata = Confidential.Metadata with { RedirectUris = [] },
    };

    private static AuthorizationParameters Valid(Client client) => new(
        ClientId: client.ClientId,
        RedirectUri: client.Role is ParentRole ? "https://site.example/broker/callback" : RedirectUri,
        ResponseType: "code",
        Scope: "public",
        State: State,
        CodeChallenge: null,
        CodeChallengeMethod: null,
        RepeatedParameters: []);

    private static AuthorizationParameters ValidWithPkce(Client client) =>
        Valid(client) with { CodeChallenge = Challenge, CodeChallengeMethod = Pkce.S256 };

    public static TheoryData<string, Client?, AuthorizationParameters, string> PageErrors() => new()
    {
        { "repeated client_id", Confidential, Valid(Confidential) with { RepeatedParameters = ["client_id"] }, OAuthErrors.InvalidRequest },
        { "repeated redirect_uri", Confidential, Valid(Confidential) with { RepeatedParameters = ["scope", "redirect_uri"] }, OAuthErrors.InvalidRequest },
        { "missing client_id", Confidential, Valid(Confidential) with { ClientId = null }, OAuthErrors.InvalidRequest },
        { "empty client_id", Confidential, Valid(Confidential) with { ClientId = "" }, OAuthErrors.InvalidRequest },
        { "unknown client", null, Valid(Confidential), OAuthErrors.InvalidClient },
        { "revoked client", Confidential with { RevokedAt = DateTimeOffset.UnixEpoch }, Valid(Confidential), OAuthErrors.InvalidClient },
        { "disabled client", Confidential with { DisabledAt = DateTimeOffset.UnixEpoch }, Valid(Confidential), OAuthErrors.InvalidClient },
        { "client without the code grant", Confidential with { Metadata = Confidential.Metadata with { GrantTypes = [GrantType.ClientCredentials] } }, Valid(Confidential), OAuthErrors.UnauthorizedClient },
        { "missing redirect_uri", Confidential, Valid(Confidential) with { RedirectUri = null }, OAuthErrors.InvalidRequest },
        { "empty redirect_uri", Confidential, Valid(Confidential) with { RedirectUri = "" }, OAuthErrors.InvalidRequest },
        { "unregistered redirect_uri", Confidential, Valid(Confidential) with { RedirectUri = "https://evil.example/callback" }, OAuthErrors.InvalidRequest },
        { "redirect_uri with another path", Confidential, Valid(Confidential) with { RedirectUri = RedirectUri + "/x" }, OAuthErrors.InvalidRequest },
        { "redirect_uri outside the installation policy", Parent, Valid(Parent) with { RedirectUri = "https://site.example/other" }, OAuthErrors.InvalidRequest },
        { "plain http installation", Parent, Valid(Parent) with { RedirectUri = "http://site.example/broker/callback" }, OAuthErrors.InvalidRequest },
        // Page errors come first even when everything after them is wrong too.
        { "unknown client and bad response_type", null, Valid(Confidential) with { ResponseType = "token", Scope = "admin" }, OAuthErrors.InvalidClient },
        { "unregistered redirect_uri and bad scope", Confidential, Valid(Confidential) with { RedirectUri = "https://evil.example/", Scope = "admin", RepeatedParameters = ["state"] }, OAuthErrors.InvalidRequest },
    };

    [Theory]
    [MemberData(nameof(PageErrors))]
    public void Errors_about_the_client_or_redirect_uri_are_shown_on_a_page_and_never_redirected(
        string because, Client? client, AuthorizationParameters parameters, string error)
    {
        var result = AuthorizationRules.Validate(parameters, client);

        result.PageError.Should().NotBeNull(because);
        result.PageError!.Error.Should().Be(error, because);
        result.RedirectError.Should().BeNull(because);
        result.RedirectUri.Should().BeNull(because);
        result.Request.Should().BeNull(because);
    }

    public static TheoryData<string, Client, AuthorizationParameters, string> RedirectErrors() => new()
    {
        { "repeated scope", Confidential, Valid(Confidential) with { RepeatedParameters = ["scope"] }, OAuthErrors.InvalidRequest },
        { "repeated state", Confidential, Valid(Confidential) with { RepeatedParameters = ["state"] }, OAuthErrors.InvalidRequest },
        { "missing response_type", Confidential, Valid(Confidential) with { ResponseType = null }, OAuthErrors.InvalidRequest },
        { "empty response_type", Confidential, Valid(Confidential) with { ResponseType = "" }, OAuthErrors.InvalidRequest },
        { "implicit response_type", Confidential, Valid(Confidential) with { ResponseType = "token" }, OAuthErrors.UnsupportedResponseType },
        { "hybrid response_type", Confidential, Valid(Confidential) with { ResponseType = "code token" }, OAuthErrors.UnsupportedResponseType },
        { "response_type in capitals", Confidential, Valid(Confidential) with { ResponseType = "CODE" }, OAuthErrors.UnsupportedResponseType },
        { "unknown scope", Confidential, Valid(Confidential) with { Scope = "admin" }, OAuthErrors.InvalidScope },
        { "known and unknown scope", Confidential, Valid(Confidential) with { Scope = "public write_photos" }, OAuthErrors.InvalidScope },
        { "scope in capitals", Confidential, Valid(Confidential) with { Scope = "PUBLIC" }, OAuthErrors.InvalidScope },
        { "plain PKCE", Confidential, ValidWithPkce(Confidential) with { CodeChallengeMethod = "plain" }, OAuthErrors.InvalidRequest },
        { "lower-case s256", Confidential, ValidWithPkce(Confidential) with { CodeChallengeMethod = "s256" }, OAuthErrors.InvalidRequest },
        { "challenge without method", Confidential, ValidWithPkce(Confidential) with { CodeChallengeMethod = null }, OAuthErrors.InvalidRequest },
        { "method without challenge", Confidential, ValidWithPkce(Confidential) with { CodeChallenge = null }, OAuthErrors.InvalidRequest },
        { "short challenge", Confidential, ValidWithPkce(Confidential) with { CodeChallenge = new string('c', 42) }, OAuthErrors.InvalidRequest },
        { "challenge with padding", Confidential, ValidWithPkce(Confidential) with { CodeChallenge = Challenge + "=" }, OAuthErrors.InvalidRequest },
        { "public client without PKCE", Public, Valid(Public), OAuthErrors.InvalidRequest },
        { "public parent without PKCE", Parent with { Metadata = Parent.Metadata with { TokenEndpointAuthMethod = ClientAuthMethod.None } }, Valid(Parent), OAuthErrors.InvalidRequest },
        // RFC 6749 §4.1.2.1 order among the redirected errors.
        { "repeated parameter before response_type", Confidential, Valid(Confidential) with { RepeatedParameters = ["scope"], ResponseType = "token" }, OAuthErrors.InvalidRequest },
        { "response_type before scope", Confidential, Valid(Confidential) with { ResponseType = "token", Scope = "admin" }, OAuthErrors.UnsupportedResponseType },
        { "scope before PKCE", Public, Valid(Public) with { Scope = "admin", CodeChallengeMethod = "plain" }, OAuthErrors.InvalidScope },
    };

    [Theory]
    [MemberData(nameof(RedirectErrors))]
    public void Other_errors_go_back_to_the_validated_redirect_uri_with_the_state(
        string because, Client client, AuthorizationParameters parameters, string error)
    {
        var result = AuthorizationRules.Validate(parameters, client);

        result.PageError.Should().BeNull(because);
        result.Request.Should().BeNull(because);
        result.RedirectError.Should().NotBeNull(because);
        result.RedirectError!.Error.Should().Be(error, because);
        result.RedirectUri.Should().Be(parameters.RedirectUri, because);
        result.State.Should().Be(State, because);
    }

    [Fact]
    public void A_redirect_error_without_state_carries_no_state()
    {
        var result = AuthorizationRules.Validate(Valid(Confidential) with { State = null, ResponseType = "token" }, Confidential);
        result.RedirectError!.Error.Should().Be(OAuthErrors.UnsupportedResponseType);
        result.State.Should().BeNull();
    }

    [Fact]
    public void An_over_long_state_is_refused_by_redirect_without_echoing_it()
    {
        var parameters = Valid(Confidential) with { State = new string('s', AuthorizationRules.MaxStateLength + 1) };
        var result = AuthorizationRules.Validate(parameters, Confidential);
        result.RedirectError!.Error.Should().Be(OAuthErrors.InvalidRequest);
        result.RedirectError.Description.Should().Contain("state");
        result.State.Should().BeNull();

        var longest = Valid(Confidential) with { State = new string('s', AuthorizationRules.MaxStateLength) };
        AuthorizationRules.Validate(longest, Confidential).Request.Should().NotBeNull();
    }

    public static TheoryData<string, Client, AuthorizationParameters, string> Accepted() => new()
    {
        { "confidential client without PKCE", Confidential, Valid(Confidential), "public" },
        { "confidential client with PKCE", Confidential, ValidWithPkce(Confidential), "public" },
        { "public client with PKCE", Public, ValidWithPkce(Public), "public" },
        { "absent scope defaults to public", Confidential, Valid(Confidential) with { Scope = null }, "public" },
        { "blank scope defaults to public", Confidential, Valid(Confidential) with { Scope = "  " }, "public" },
        { "repeated scope value collapses", Confidential, Valid(Confidential) with { Scope = " public  public " }, "public" },
        { "loopback on another port", Confidential, Valid(Confidential) with { RedirectUri = "http://127.0.0.1:50123/native" }, "public" },
        { "parent installation over https", Parent, Valid(Parent), "public" },
        { "parent installation on loopback", Parent, Valid(Parent) with { RedirectUri = "http://localhost:2368/broker/callback" }, "public" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void A_valid_request_is_accepted_with_its_state_challenge_and_canonical_scope(
        string because, Client client, AuthorizationParameters parameters, string scope)
    {
        var result = AuthorizationRules.Validate(parameters, client);

        result.PageError.Should().BeNull(because);
        result.RedirectError.Should().BeNull(because);
        result.Request.Should().NotBeNull(because);
        result.Request!.Client.Should().BeSameAs(client);
        result.Request.RedirectUri.Should().Be(parameters.RedirectUri);
        result.Request.Scope.Should().Be(scope);
        result.Request.State.Should().Be(parameters.State);
        result.Request.CodeChallenge.Should().Be(parameters.CodeChallenge);
        result.State.Should().Be(parameters.State);
    }

    [Fact]
    public void The_consent_page_sees_the_installation_origin_only_for_parents()
    {
        var parent = AuthorizationRules.Validate(Valid(Parent) with { RedirectUri = "https://blog.site.example:8443/broker/callback" }, Parent);
        parent.Request!.InstallationOrigin.Should().Be("https://blog.site.example:8443");

        AuthorizationRules.Validate(Valid(Confidential), Confidential).Request!.InstallationOrigin.Should().BeNull();
    }

    [Fact]
    public void A_parent_may_also_use_a_redirect_uri_it_registered_exactly()
    {
        var parent = Parent with { Metadata = Parent.Metadata with { RedirectUris = ["https://vendor.example/setup"] } };
        AuthorizationRules.Validate(Valid(parent) with { RedirectUri = "https://vendor.example/setup" }, parent).Request.Should().NotBeNull();
    }

    [Fact]
    public void A_parent_without_a_callback_path_falls_back_to_exact_matching()
    {
        var parent = Parent with { Role = (ParentRole)Parent.Role with { CallbackPath = null } };
        AuthorizationRules.Validate(Valid(parent), parent).PageError!.Error.Should().Be(OAuthErrors.InvalidRequest);
    }
}
