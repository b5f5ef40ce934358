using Broker.Core.Platform;
using Broker.Core.Webhooks;

namespace Broker.Core.Tests;

public sealed class WebhookRulesTests
{
    [Theory]
    [InlineData(AuditActions.ParentOwnerChanged)]
    [InlineData(AuditActions.TrustedIssuerAdded)]
    [InlineData(AuditActions.TrustedIssuerRemoved)]
    [InlineData(AuditActions.WebhookReplayed)]
    public void A_subscription_may_name_every_audit_action_including_those_added_beside_the_webhooks(string action) =>
        WebhookRules.EventTypes.Should().Contain(action);

    [Fact]
    public void The_event_types_are_the_audit_actions_and_nothing_else() =>
        WebhookRules.EventTypes.Should().OnlyContain(type => type.Contains('.')).And.OnlyHaveUniqueItems();
}
