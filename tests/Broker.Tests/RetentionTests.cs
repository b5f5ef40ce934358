using System.Globalization;
using System.Net;
using System.Text.Json;
using Broker.Hosting;
using Broker.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests;

/// <summary>
/// The retention job over a real SQLite file: what it removes is counted on the <c>Broker</c> meter, and
/// a code or token it removed is refused when replayed, as an unknown one is.
/// </summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task A_removed_code_and_a_removed_spent_token_are_refused_when_replayed_and_the_removals_are_counted()
    {
        using var broker = new BrokerFactory();
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var code = await flow.ApproveAsync(parent);
        var token = await Installation.TokenAsync(api, parent, code);
        var created = await Installation.CreateChildAsync(api, token, new { name = "My Blog" }, idempotencyKey: "first");
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var job = broker.Services.GetRequiredService<RetentionJob>();
        using var rowsRemoved = new BrokerMetrics(broker.Services, BrokerTelemetry.RowsRemovedName, BrokerTelemetry.RetentionKindTag);

        // Past the installation tokens' retention (30 days), and so past the codes' (1 day).
        broker.Time.Advance(TimeSpan.FromDays(31));
        await job.RunOnceAsync(CancellationToken.None);

        rowsRemoved.ByKind.Should().Contain(new KeyValuePair<string, long>("authorization_code", 1))
            .And.Contain(new KeyValuePair<string, long>("installation_token", 1));
        var replayedCode = await Installation.RequestTokenAsync(api, parent, code);
        replayedCode.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await JsonDocument.ParseAsync(await replayedCode.Content.ReadAsStreamAsync())).RootElement.GetProperty("error").GetString()
            .Should().Be("invalid_grant");
        // The same request again, once its token is gone: refused, and no second child.
        var replayedToken = await Installation.CreateChildAsync(api, token, new { name = "My Blog" }, idempotencyKey: "first");
        replayedToken.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await JsonDocument.ParseAsync(await replayedToken.Content.ReadAsStreamAsync())).RootElement.GetProperty("error").GetString()
            .Should().Be("invalid_token");

        // A second pass finds nothing more and counts nothing more.
        rowsRemoved.ByKind.Clear();
        (await job.RunOnceAsync(CancellationToken.None)).Values.Sum().Should().Be(0);
        rowsRemoved.ByKind.Should().BeEmpty();
    }

    [Fact]
    public async Task Rows_still_within_their_retention_are_kept()
    {
        using var broker = new BrokerFactory();
        var parent = await broker.CreateParentAsync();
        await broker.CreateUserAsync();
        var flow = new Installation(broker);
        await flow.Browser.SignInAsync();
        var api = broker.CreateApiClient();
        var token = await flow.InstallationTokenAsync(parent, api);
        (await Installation.CreateChildAsync(api, token, new { name = "My Blog" }, idempotencyKey: "first")).StatusCode.Should().Be(HttpStatusCode.Created);

        broker.Time.Advance(TimeSpan.FromDays(29));
        var removed = await broker.Services.GetRequiredService<RetentionJob>().RunOnceAsync(CancellationToken.None);

        removed[Core.Stores.RetentionKind.InstallationTokens].Should().Be(0);
        // Still within its retention, an idempotent retry of the spend gets the same child back.
        var retried = await Installation.CreateChildAsync(api, token, new { name = "My Blog" }, idempotencyKey: "first");
        retried.StatusCode.Should().Be(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData(nameof(RetentionOptions.AuditEntries), "10.00:00:00", "Retention:AuditEntries must be at least 30 days")]
    [InlineData(nameof(RetentionOptions.AuthorizationCodes), "00:00:00", "every retention and the interval must be positive")]
    [InlineData(nameof(RetentionOptions.BatchSize), "0", "Retention:BatchSize must be between 1 and 10000")]
    public void A_retention_the_database_would_refuse_or_that_removes_nothing_is_refused_at_start(string property, string value, string message)
    {
        var options = new RetentionOptions();
        var setting = typeof(RetentionOptions).GetProperty(property)!;
        setting.SetValue(options, setting.PropertyType == typeof(int) ? int.Parse(value, CultureInfo.InvariantCulture) : TimeSpan.Parse(value, CultureInfo.InvariantCulture));

        var result = new RetentionOptionsValidation().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain(message);
        new RetentionOptionsValidation().Validate(null, new RetentionOptions()).Succeeded.Should().BeTrue("the defaults are valid");
    }
}
