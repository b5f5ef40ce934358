using System.Net;
using AngleSharp.Html.Parser;
using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Broker.Hosting;
using Broker.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Broker.Tests.ConsolePages;

/// <summary>
/// A broker whose configuration names two platform-team accounts (one with every console scope, one that
/// may only read), two vendors each owning a parent, and a site owner with installations of both.
/// </summary>
public sealed class ConsoleHarness : IAsyncLifetime
{
    public const string Password = "correct horse battery";
    public const string OpsEmail = "ops@platform.example";
    public const string ReaderEmail = "reader@platform.example";
    public const string VendorEmail = "vendor@ghost-plugins.example";
    public const string OtherVendorEmail = "vendor@wp-plugins.example";
    public const string SiteOwnerEmail = "owner@blog.example";

    public BrokerFactory Broker { get; } = new();

    public CreatedApplication Parent { get; private set; } = null!;

    public CreatedApplication OtherParent { get; private set; } = null!;

    public User SiteOwner { get; private set; } = null!;

    public User Vendor { get; private set; } = null!;

    public User Ops { get; private set; } = null!;

    public User Reader { get; private set; } = null!;

    /// <summary>The <c>Console:Administrators</c> settings naming these user ids with these scopes.</summary>
    public static Dictionary<string, string?> Administrators(params (string UserId, string[] Scopes)[] administrators)
    {
        var settings = new Dictionary<string, string?>();
        for (var entry = 0; entry < administrators.Length; entry++)
        {
            settings[$"Console:Administrators:{entry}:UserId"] = administrators[entry].UserId;
            for (var scope = 0; scope < administrators[entry].Scopes.Length; scope++)
            {
                settings[$"Console:Administrators:{entry}:Scopes:{scope}"] = administrators[entry].Scopes[scope];
            }
        }
        return settings;
    }

    public async Task InitializeAsync()
    {
        // Accounts first, then the configuration names their ids: the set-up README gives an operator.
        Ops = await Broker.CreateUserAsync(OpsEmail, Password);
        Reader = await Broker.CreateUserAsync(ReaderEmail, Password);
        await Broker.CreateUserAsync(OtherVendorEmail, Password);
        Broker.ChangeSettings(Administrators(
            (Ops.UserId, [AdminScopes.ClientsRead, AdminScopes.ClientsWrite, AdminScopes.ParentsWrite, AdminScopes.AuditRead]),
            (Reader.UserId, [AdminScopes.ClientsRead])));
        Vendor = await Broker.CreateUserAsync(VendorEmail, Password);
        SiteOwner = await Broker.CreateUserAsync(SiteOwnerEmail, Password);
        Parent = await Broker.CreateParentAsync("Ghost Unsplash Plugin");
        OtherParent = await Broker.CreateParentAsync("WordPress Photo Plugin");
        await NameOwnerAsync(Parent, VendorEmail);
        await NameOwnerAsync(OtherParent, OtherVendorEmail);
    }

    public Task DisposeAsync()
    {
        Broker.Dispose();
        return Task.CompletedTask;
    }

    public async Task NameOwnerAsync(CreatedApplication parent, string email)
    {
        var named = await Broker.Services.GetRequiredService<PlatformAdministration>()
            .SetParentOwnerAsync(parent.Client.ClientId, ParentOwner.ByEmail(email), AuditActor.CommandLine, null);
        named.Problem.Should().BeNull();
    }

    public Task<Client> InstallAsync(CreatedApplication parent, string origin = "https://blog.example", string name = "Blog installation") =>
        GatewayCalls.CreateChildAsync(Broker, parent, SiteOwner, name: name, origin: origin);

    /// <summary>A browser signed in to the console through its login page.</summary>
    public async Task<Browser> SignInAsync(string email)
    {
        var browser = new Browser(Broker.CreateBrowser());
        var page = await browser.GetAsync("/console/login");
        var form = await Browser.FormAsync(page, "/console/login");
        var response = await browser.SubmitAsync(form, ("email", email), ("password", Password));
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
        return browser;
    }

    public Task<Client?> FindAsync(string clientId) => Broker.Services.GetRequiredService<IClientStore>().FindAsync(clientId);

    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(string clientId) =>
        (await Broker.Services.GetRequiredService<IAuditStore>().QueryAsync(new AuditQuery { Target = AuditActions.Client(clientId) })).Items;

    /// <summary>The text a person reads in the page's main part.</summary>
    public static async Task<string> TextAsync(HttpResponseMessage page) =>
        new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync()).QuerySelector("main")?.TextContent ?? "";
}
