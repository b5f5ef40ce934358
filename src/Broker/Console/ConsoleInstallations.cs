using System.Globalization;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using static Broker.Core.Platform.AdminScopes;

namespace Broker.Console;

/// <summary>The console's installations of a parent, one installation's usage, and the audit log.</summary>
public static partial class ConsoleEndpoints
{
    private static async Task<Results<RedirectHttpResult, HtmlPage>> Installations(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IPlatformClientStore platformClients,
        IUserStore users, IOptions<InstallationOptions> installation, string clientId, string? after)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        if (await ReadableParentAsync(clients, user, clientId, context.RequestAborted) is not { } parent)
        {
            return NoSuchParent(clientId);
        }
        // The next page starts after an installation named by its reference (the store's cursor holds the key); reject any other.
        string? cursor = null;
        if (after is not null)
        {
            if (await InstallationReference.ResolveAsync(platformClients, parent.ClientId, after, context.RequestAborted) is not { } last)
            {
                return Html.Error("Bad page", "This page link is not one the console made. Go back to the first page.");
            }
            cursor = PageCursor.Encode(last.CreatedAt.ToUnixTimeMilliseconds(), last.ClientId);
        }
        var page = await platformClients.ListChildrenAsync(parent.ClientId, null, null, cursor, 50, context.RequestAborted);
        var installationsPath = $"{ParentsPath}/{Html.Text(parent.ClientId)}/installations";
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var ownerId in page.Items.Select(child => ((InstallationRole)child.Role).OwnerUserId).Distinct())
        {
            owners[ownerId] = (await users.FindAsync(ownerId, context.RequestAborted))?.Email ?? "(removed)";
        }
        var settings = (ParentRole)parent.Role;
        var antiforgeryField = Html.AntiforgeryField(context, antiforgery);
        var rows = string.Concat(page.Items.Select(child =>
        {
            var role = (InstallationRole)child.Role;
            var actions = user.Can(ClientsWrite) && child.RevokedAt is null
                ? string.Concat(
                    child.DisabledAt is null
                        ? InstallationButton(installationsPath, child, "disable", "Disable", antiforgeryField)
                        : InstallationButton(installationsPath, child, "enable", "Enable", antiforgeryField),
                    InstallationButton(installationsPath, child, "revoke", "Revoke", antiforgeryField))
                : "";
            return $"""
                <tr>
                <td data-label="Site"><a href="{installationsPath}/{Html.Text(InstallationReference.Of(child))}"><strong>{Html.Text(role.Origin is null ? "(no site)" : RedirectUris.DisplayHost(role.Origin))}</strong></a><br>{Html.Untrusted(child.Name)}</td>
                <td data-label="Owner">{Html.Untrusted(owners[role.OwnerUserId])}</td>
                <td data-label="Created">{Time(child.CreatedAt)}</td>
                <td data-label="Last used">{(child.LastUsedAt is { } used ? Time(used) : "never")}</td>
                <td data-label="Quota">{ChildPolicy.EffectiveRateLimit(role, settings, installation.Value.DefaultChildRateLimit).ToString("N0", CultureInfo.InvariantCulture)}/h</td>
                <td data-label="Status">{Status(child)}</td>
                <td>{actions}</td>
                </tr>
                """;
        }));
        var table = page.Items.Count == 0
            ? "<p>No site has installed it yet.</p>"
            : $"""
              <table>
              <thead><tr><th scope="col">Site</th><th scope="col">Owner</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Quota</th><th scope="col">Status</th><th scope="col"><span class="fine">Actions</span></th></tr></thead>
              <tbody>{rows}</tbody>
              </table>
              """;
        var more = page.Next is null ? "" : $"""<p><a href="{installationsPath}?{QueryOf(("after", InstallationReference.Of(page.Items[^1])))}">More installations</a></p>""";
        return Layout(context, antiforgery, user, $"Installations of {parent.Name}", $"""
            <p><a href="{ParentsPath}/{Html.Text(parent.ClientId)}">Back to {Html.Untrusted(parent.Name)}</a></p>
            {table}
            {more}
            """, untrustedTitle: true);
    }

    private static string InstallationButton(string installationsPath, Client child, string change, string label, string antiforgeryField) =>
        $"""<form class="inline" method="post" action="{installationsPath}/{Html.Text(InstallationReference.Of(child))}/{change}">{antiforgeryField}{Html.Hidden("version", child.Version.ToString(CultureInfo.InvariantCulture))}<button class="{(change == "revoke" ? "danger" : "secondary")}" type="submit">{label}</button></form> """;

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Installation(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IPlatformClientStore platformClients,
        IUserStore users, IUsageStore usage, IOptions<InstallationOptions> installation, TimeProvider time, string clientId, string reference)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        if (await ReadableParentAsync(clients, user, clientId, context.RequestAborted) is not { } parent
            || await InstallationReference.ResolveAsync(platformClients, parent.ClientId, reference, context.RequestAborted) is not { } child)
        {
            return NoSuchInstallation();
        }
        var installationRole = (InstallationRole)child.Role;
        var limit = ChildPolicy.EffectiveRateLimit(installationRole, (ParentRole)parent.Role, installation.Value.DefaultChildRateLimit);
        var now = time.GetUtcNow();
        var hours = await usage.HoursAsync(UsageScope.OfInstallation(child.ClientId), UsageCharts.From(now), now + TimeSpan.FromHours(1), context.RequestAborted);
        var thisHour = hours.FirstOrDefault(hour => hour.Hour == UsageHour.HourOf(now))?.Admitted ?? 0;
        var owner = await users.FindAsync(installationRole.OwnerUserId, context.RequestAborted);
        var site = installationRole.Origin is null ? "(no site)" : RedirectUris.DisplayHost(installationRole.Origin);
        return Layout(context, antiforgery, user, site, $"""
            <p>{Html.Untrusted(child.Name)} · installation of <a href="{ParentsPath}/{Html.Text(parent.ClientId)}">{Html.Untrusted(parent.Name)}</a> · owner {Html.Untrusted(owner?.Email ?? "(removed)")} · {Status(child)}</p>
            <p>Key ending <code>…{Html.Text(Core.Security.Secret.Fingerprint(child.ClientId))}</code> · created {Time(child.CreatedAt)} · last used {(child.LastUsedAt is { } used ? Time(used) : "never")}</p>
            <h2>Quota</h2>
            {UsageCharts.QuotaUse(thisHour, limit)}
            <h2>Calls per hour, last 7 days</h2>
            {UsageCharts.CallsPerHour($"Calls per hour of the installation on {site}, last 7 days, against its limit of {limit} an hour", hours, now, limit)}
            {UsageCharts.Totals(hours)}
            """);
    }

    private static async Task<Results<RedirectHttpResult, HtmlPage>> ChangeInstallation(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IClientStore clients, IPlatformClientStore platformClients,
        PlatformAdministration platform, string clientId, string reference, string change)
    {
        var (user, form, refusal) = await WriteRequestAsync(context, antiforgery, access, ClientsWrite);
        if (refusal is not null)
        {
            return refusal;
        }
        if (await ReadableParentAsync(clients, user!, clientId, context.RequestAborted) is not { } parent
            || await InstallationReference.ResolveAsync(platformClients, parent.ClientId, reference, context.RequestAborted) is not { } child)
        {
            return NoSuchInstallation();
        }
        // Reject changes other than the three an installation has.
        ChildStateChange? state = change switch
        {
            "disable" => ChildStateChange.Disable,
            "enable" => ChildStateChange.Enable,
            "revoke" => ChildStateChange.Delete,
            _ => null,
        };
        if (state is null)
        {
            return Html.Error("Not found", "An installation can be disabled, enabled or revoked.", StatusCodes.Status404NotFound);
        }
        var result = await platform.ChangeChildStateAsync(child.ClientId, state.Value, user!.Actor(context), Version(form!), context.RequestAborted);
        if (result.Problem is not null)
        {
            return Failure(result.Problem, result.Failure);
        }
        return TypedResults.Redirect($"{ParentsPath}/{parent.ClientId}/installations");
    }

    private static HtmlPage NoSuchInstallation() =>
        Html.Error("Not found", "There is no installation you can see at this address.", StatusCodes.Status404NotFound);

    private static async Task<Results<RedirectHttpResult, HtmlPage>> Audit(
        HttpContext context, IAntiforgery antiforgery, ConsoleAccess access, IAuditStore audit,
        string? actor, string? action, string? client, string? before)
    {
        if (await access.CurrentAsync(context) is not { } user)
        {
            return SignInFirst(context);
        }
        if (!user.Can(AuditRead))
        {
            return Forbidden(AuditRead);
        }
        var filters = (Actor: Filter(actor), Action: Filter(action), Client: Filter(client));
        // Reject filters too long to name anything, and a cursor that is not an entry id.
        long? beforeId = null;
        if (new[] { filters.Actor, filters.Action, filters.Client }.Any(filter => filter?.Length > 200)
            || (before is not null && !long.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Html.Error("Bad filter", "Filters are at most 200 characters; page links are the console's own.");
        }
        if (before is not null)
        {
            beforeId = long.Parse(before, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        var page = await audit.QueryAsync(new AuditQuery
        {
            Actor = filters.Actor,
            Action = filters.Action,
            Target = filters.Client is null ? null : AuditActions.Client(filters.Client),
            Before = beforeId,
            Limit = 50,
        }, context.RequestAborted);
        var rows = string.Concat(page.Items.Select(entry => $"""
            <tr>
            <td data-label="When">{Time(entry.At)}</td>
            <td data-label="Actor"><code>{Html.Text(entry.Actor)}</code></td>
            <td data-label="Action">{Html.Text(entry.Action)}</td>
            <td data-label="Target"><code>{Html.Text(AuditTarget(entry))}</code></td>
            <td data-label="Details">{Html.Untrusted(entry.Details, 300)}</td>
            </tr>
            """));
        var table = page.Items.Count == 0
            ? "<p>No entry matches.</p>"
            : $"""
              <table>
              <thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
              <tbody>{rows}</tbody>
              </table>
              """;
        var more = page.Next is null ? "" : $"""<p><a href="{AuditPath}?{QueryOf(("actor", filters.Actor), ("action", filters.Action), ("client", filters.Client), ("before", page.Next))}">Older entries</a></p>""";
        return Layout(context, antiforgery, user, "Audit log", $"""
            <form method="get" action="{AuditPath}" class="search" role="search">
            <label for="actor">Actor (like user:… or admin-token:…)</label><input id="actor" name="actor" type="text" value="{Html.Text(filters.Actor)}">
            <label for="action">Action (like parent.disabled)</label><input id="action" name="action" type="text" value="{Html.Text(filters.Action)}">
            <label for="client">Client id</label><input id="client" name="client" type="text" value="{Html.Text(filters.Client)}">
            <button type="submit">Filter</button>
            </form>
            {table}
            {more}
            """);
    }

    /// <summary>An entry's target, with a child's client id (its gateway key) cut to its last four characters.</summary>
    private static string AuditTarget(AuditEntry entry) =>
        entry.Action.StartsWith("child.", StringComparison.Ordinal) && entry.Target.StartsWith("client:", StringComparison.Ordinal)
            ? $"client:…{Core.Security.Secret.Fingerprint(entry.Target["client:".Length..])}"
            : entry.Target;

    private static string? Filter(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
