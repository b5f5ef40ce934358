using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;

namespace Broker.Core.Tests;

/// <summary>Secret rotation, child narrowing, admin scopes and page cursors.</summary>
public sealed class PlatformRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    private static ParentRole Settings(int? childRateLimit = 100) => (ParentRole)Parent(childRateLimit).Role;

    private static Client Parent(int? childRateLimit = 100, IReadOnlyList<string>? endpoints = null) => new()
    {
        ClientId = Secret.NewClientId(),
        Metadata = new ClientMetadata { ClientName = "Plugin" },
        Role = new ParentRole { ChildRateLimit = childRateLimit, ChildEndpoints = endpoints ?? ["GET /photos", "GET /photos/*"] },
        SecretHash = Secret.Hash("old-secret"),
        CreatedAt = Now,
    };

    [Fact]
    public void A_rotated_client_accepts_the_new_secret_always_and_the_old_one_only_before_the_overlap_ends()
    {
        var rotated = ClientSecrets.Rotated(Parent(), "new-secret", Now.AddHours(1));

        ClientSecrets.Accepts(rotated, "new-secret", Now.AddDays(30)).Should().BeTrue();
        ClientSecrets.Accepts(rotated, "old-secret", Now.AddMinutes(59)).Should().BeTrue();
        ClientSecrets.Accepts(rotated, "old-secret", Now.AddHours(1)).Should().BeFalse();
        ClientSecrets.Accepts(rotated, "other", Now).Should().BeFalse();
        rotated.SecretFingerprint.Should().Be("cret");
    }

    [Fact]
    public void A_second_rotation_ends_the_first_overlap()
    {
        var twice = ClientSecrets.Rotated(ClientSecrets.Rotated(Parent(), "second", Now.AddHours(1)), "third", Now.AddHours(1));

        ClientSecrets.Accepts(twice, "old-secret", Now).Should().BeFalse();
        ClientSecrets.Accepts(twice, "second", Now).Should().BeTrue();
        ClientSecrets.Accepts(twice, "third", Now).Should().BeTrue();
    }

    [Theory]
    [InlineData(100, null)]
    [InlineData(1, null)]
    [InlineData(0, "at least 1")]
    [InlineData(101, "narrowed")]
    public void A_child_quota_may_not_exceed_its_parents(int rateLimit, string? problem)
    {
        var actual = ChildLimits.RateLimitProblem(Settings(), rateLimit, 3000);

        if (problem is null)
        {
            actual.Should().BeNull();
        }
        else
        {
            actual.Should().Contain(problem);
        }
    }

    [Fact]
    public void A_parent_without_its_own_quota_grants_the_default()
    {
        ChildLimits.RateLimitProblem(Settings(childRateLimit: null), 3000, 3000).Should().BeNull();
        ChildLimits.RateLimitProblem(Settings(childRateLimit: null), 3001, 3000).Should().Contain("3000");
    }

    [Theory]
    [InlineData("GET /photos", true)]
    [InlineData("GET /photos/*", true)]
    [InlineData("GET /photos/abc", true)]
    [InlineData("HEAD /photos", false)]
    [InlineData("POST /photos", false)]
    [InlineData("GET /photos/*/stats", false)]
    [InlineData("GET /users/*", false)]
    [InlineData("GET /*", false)]
    public void A_child_whitelist_may_only_name_what_the_parent_allows(string endpoint, bool allowed)
    {
        var problem = ChildLimits.EndpointsProblem(Settings(), [endpoint]);

        (problem is null).Should().Be(allowed, problem);
    }

    [Fact]
    public void Admin_scopes_are_checked_and_entra_roles_map_onto_them()
    {
        AdminScopes.Problem([]).Should().Contain("at least one scope");
        AdminScopes.Problem(["clients:read", "root"]).Should().Contain("unknown scope 'root'");
        AdminScopes.Problem([.. AdminScopes.All]).Should().BeNull();
        AdminScopes.FromEntraRole("Parents.Write").Should().Be(AdminScopes.ParentsWrite);
        AdminScopes.FromEntraRole("audit:read").Should().Be(AdminScopes.AuditRead);
        AdminScopes.FromEntraRole("Global.Admin").Should().BeNull();
    }

    [Theory]
    [InlineData("1764417600000.Abc123", true)]
    [InlineData("1764417600000.", false)]
    [InlineData(".Abc", false)]
    [InlineData("-1.Abc", false)]
    [InlineData("12.Ab'c", false)]
    [InlineData("nonsense", false)]
    [InlineData(null, false)]
    public void Page_cursors_decode_only_when_well_formed(string? cursor, bool valid)
    {
        PageCursor.TryDecode(cursor, out var at, out var id).Should().Be(valid);
        if (valid)
        {
            PageCursor.Encode(at, id).Should().Be(cursor);
        }
    }
}
