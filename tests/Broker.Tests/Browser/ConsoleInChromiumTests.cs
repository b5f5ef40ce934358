using System.Globalization;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Broker.Tests.Chromium;

/// <summary>
/// The console as the platform team and a vendor use it, in Chromium: the parents, a parent's settings and
/// usage chart, its installations, the kill switch, an installation's chart; axe-core and sideways
/// scrolling on every page, markup in every name field, and one vendor kept out of another's data.
/// Screenshots go to <see cref="ChromiumBroker.ScreenshotFolder"/> (console-*.png).
/// </summary>
public sealed class ConsoleInChromiumTests : IAsyncLifetime
{
    private const string Ops = "ops@platform.example";
    private const string Vendor = "vendor@ghost-plugins.example";
    private const string OtherVendor = "vendor@wp-plugins.example";
    private const string Hostile = "<img src=x onerror=alert(1)>";

    // Hours of earlier usage the seed writes before the gateway's own calls.
    private const int History = 60;

    private ChromiumBroker session = null!;

    public async Task InitializeAsync() => session = await ChromiumBroker.StartAsync();

    public async Task DisposeAsync()
    {
        if (session is not null)
        {
            await session.DisposeAsync();
        }
    }

    [SkippableTheory]
    [InlineData(1024)]
    [InlineData(360)]
    public async Task The_platform_team_edits_a_parent_reads_its_usage_and_pulls_the_kill_switch(int width)
    {
        var (ghost, _, children) = await SeedAsync();
        var page = await SignInAsync(Ops, width);
        var problems = new List<string>();
        var dialogs = new List<string>();
        page.Dialog += (_, dialog) => dialogs.Add(dialog.Message);

        async Task CheckAsync(string name)
        {
            problems.AddRange((await ChromiumBroker.SeriousAccessibilityProblemsAsync(page)).Select(problem => $"{name}: {problem}"));
            if (await ChromiumBroker.OverflowsAsync(page))
            {
                problems.Add($"{name}: scrolls sideways at {width} px");
            }
            await ChromiumBroker.ScreenshotAsync(page, $"console-{name}-{width}");
        }

        (await page.Locator("main").InnerTextAsync()).Should().Contain("Ghost Unsplash Plugin").And.Contain("WordPress Photo Plugin")
            .And.Contain($"Evil {Hostile} Plugin");
        await CheckAsync("parents");

        await page.GetByRole(AriaRole.Link, new() { Name = "Ghost Unsplash Plugin" }).ClickAsync();
        (await page.Locator("h1").InnerTextAsync()).Should().Be("Ghost Unsplash Plugin");
        (await page.Locator("svg.chart rect.admitted").CountAsync()).Should().Be(History + 3, "the gateway counted calls in three more hours");
        (await page.Locator("svg.chart rect.admitted title").Last.TextContentAsync()).Should().EndWith("5 admitted, 1 refused");
        await CheckAsync("parent");

        // The whitelist editor: only the gateway's routes, as checkboxes.
        await page.GetByLabel("GET /me").UncheckAsync();
        await page.GetByLabel("POST /photos/*/like").CheckAsync();
        await page.GetByLabel("Calls an hour for each installation").FillAsync("500");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        var saved = (ParentRole)(await FindAsync(ghost.Client.ClientId)).Role;
        saved.ChildRateLimit.Should().Be(500);
        saved.ChildEndpoints.Should().Contain("POST /photos/*/like").And.NotContain("GET /me");

        await page.GetByRole(AriaRole.Link, new() { Name = "Installations", Exact = true }).ClickAsync();
        var installations = await page.Locator("main").InnerTextAsync();
        installations.Should().Contain("one.blog.example").And.Contain("two.blog.example").And.Contain(ChromiumBroker.OwnerEmail)
            .And.Contain($"Blog {Hostile}").And.Contain("500/h");
        await CheckAsync("installations");

        await page.GetByRole(AriaRole.Link, new() { Name = "one.blog.example" }).ClickAsync();
        (await page.Locator("main").InnerTextAsync()).Should().Contain("of 500 calls");
        foreach (var child in children)
        {
            page.Url.Should().NotContain(child.ClientId, "an installation is addressed by reference, never by its key");
            (await page.ContentAsync()).Should().NotContain(child.ClientId);
        }
        (await page.Locator("svg.chart line.limit").CountAsync()).Should().Be(1);
        await CheckAsync("chart");

        await page.GotoAsync($"{session.Address}/console/parents/{ghost.Client.ClientId}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Kill switch: disable it and all its installations" }).ClickAsync();
        (await page.Locator("main").InnerTextAsync()).Should().Contain("Disable Ghost Unsplash Plugin and its 2 active installations?");
        await CheckAsync("kill-switch");
        await page.GetByRole(AriaRole.Button, new() { Name = "Disable the parent and 2 active installations" }).ClickAsync();
        (await FindAsync(ghost.Client.ClientId)).DisabledAt.Should().NotBeNull();
        foreach (var child in children)
        {
            (await FindAsync(child.ClientId)).DisabledAt.Should().NotBeNull();
        }
        await page.GotoAsync($"{session.Address}/console/audit?client={ghost.Client.ClientId}");
        (await page.Locator("main").InnerTextAsync()).Should().Contain("parent.disabled").And.Contain("children disabled: 2");
        await CheckAsync("audit");

        dialogs.Should().BeEmpty("markup in names is text, never run");
        problems.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_vendor_sees_their_own_plugin_and_cannot_reach_another_vendors()
    {
        var (ghost, wordpress, _) = await SeedAsync();
        var page = await SignInAsync(Vendor, 1024);

        var list = await page.Locator("main").InnerTextAsync();
        list.Should().Contain("Ghost Unsplash Plugin").And.NotContain("WordPress Photo Plugin").And.NotContain("Evil");
        (await page.Locator("nav").InnerTextAsync()).Should().NotContain("Audit log");
        await page.GetByRole(AriaRole.Link, new() { Name = "Ghost Unsplash Plugin" }).ClickAsync();
        (await page.Locator("form[action$='/settings']").CountAsync()).Should().Be(0, "a vendor reads their settings, the platform team changes them");
        await ChromiumBroker.ScreenshotAsync(page, "console-vendor-1024");
        await page.GetByRole(AriaRole.Button, new() { Name = "Rotate the secret" }).ClickAsync();
        (await page.Locator("main").InnerTextAsync()).Should().Contain("It is shown this once");

        foreach (var path in new[] { $"/console/parents/{wordpress.Client.ClientId}", $"/console/parents/{wordpress.Client.ClientId}/installations", "/console/audit" })
        {
            var response = await page.GotoAsync(session.Address + path);
            response!.Status.Should().BeOneOf(403, 404);
            (await page.Locator("main").InnerTextAsync()).Should().NotContain("WordPress Photo Plugin");
        }
    }

    // Three parents (one named with markup), two vendors, two installations of the first and calls in three hours.
    private async Task<(CreatedApplication Ghost, CreatedApplication WordPress, IReadOnlyList<Client> Children)> SeedAsync()
    {
        var broker = session.Broker;
        var ops = await broker.CreateUserAsync(Ops, ChromiumBroker.OwnerPassword);
        foreach (var email in new[] { Vendor, OtherVendor })
        {
            await broker.CreateUserAsync(email, ChromiumBroker.OwnerPassword);
        }
        // The platform team's account is listed by its user id, once it exists.
        broker.ChangeSettings(ConsolePages.ConsoleHarness.Administrators(
            (ops.UserId, [AdminScopes.ClientsRead, AdminScopes.ClientsWrite, AdminScopes.ParentsWrite, AdminScopes.AuditRead])));
        var owner = await broker.Services.GetRequiredService<IUserStore>().FindByEmailAsync(AccountRules.Normalize(ChromiumBroker.OwnerEmail));
        var ghost = await session.CreateParentAsync("Ghost Unsplash Plugin", "GET /photos", "GET /photos/*", "GET /me");
        var wordpress = await session.CreateParentAsync("WordPress Photo Plugin");
        var evil = await session.CreateParentAsync($"Evil {Hostile} Plugin");
        var platform = broker.Services.GetRequiredService<PlatformAdministration>();
        (await platform.SetParentOwnerAsync(ghost.Client.ClientId, ParentOwner.ByEmail(Vendor), AuditActor.CommandLine, null)).Problem.Should().BeNull();
        (await platform.SetParentOwnerAsync(wordpress.Client.ClientId, ParentOwner.ByEmail(OtherVendor), AuditActor.CommandLine, null)).Problem.Should().BeNull();
        var children = new List<Client>
        {
            await GatewayCalls.CreateChildAsync(broker, ghost, owner!, origin: "https://one.blog.example"),
            await GatewayCalls.CreateChildAsync(broker, ghost, owner!, origin: "https://two.blog.example", name: $"Blog {Hostile}"),
        };
        await GatewayCalls.CreateChildAsync(broker, evil, owner!, name: $"Blog {Hostile}");
        // Three days of earlier usage, as the gateway's flushes would have left it, so the chart has a history to show.
        var start = broker.Time.GetUtcNow() - TimeSpan.FromDays(3);
        await broker.Services.GetRequiredService<IUsageStore>().AddAsync([.. Enumerable.Range(0, History).Select(hour => new UsageHour
        {
            ClientId = children[hour % 2].ClientId,
            ParentClientId = ghost.Client.ClientId,
            Hour = UsageHour.HourOf(start + TimeSpan.FromHours(hour)),
            Admitted = 3 + (hour * 7 % 11),
            NotWhitelisted = hour % 5 == 0 ? 2 : 0,
            QuotaSpent = hour % 13 == 0 ? 1 : 0,
        })]);
        using var api = new HttpClient { BaseAddress = new Uri(session.Address) };
        var counter = broker.Services.GetRequiredService<UsageCounter>();
        for (var hour = 0; hour < 3; hour++)
        {
            if (hour > 0)
            {
                broker.Time.Advance(TimeSpan.FromHours(1));
            }
            for (var call = 0; call <= hour * 2; call++)
            {
                await GatewayCalls.CallAsync(api, children[call % 2].ClientId, "/photos");
            }
            await GatewayCalls.CallAsync(api, children[0].ClientId, "/search/photos");
            await counter.FlushAsync();
        }
        return (ghost, wordpress, children);
    }

    private async Task<IPage> SignInAsync(string email, int width)
    {
        var page = await session.NewPageAsync(width);
        await page.GotoAsync(session.Address + "/console");
        await page.GetByLabel("E-mail").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(ChromiumBroker.OwnerPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        (await page.Locator("nav").InnerTextAsync()).Should().Contain(email.ToString(CultureInfo.InvariantCulture));
        return page;
    }

    private async Task<Client> FindAsync(string clientId) =>
        (await session.Broker.Services.GetRequiredService<IClientStore>().FindAsync(clientId))!;
}
