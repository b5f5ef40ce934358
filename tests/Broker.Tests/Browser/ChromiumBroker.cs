using Broker.Hosting;
using System.Globalization;
using Broker.Platform;
using Broker.Tests.Pages;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Broker.Tests.Chromium;

/// <summary>
/// The broker on Kestrel (Development, so the demo callback page exists), a loopback SMTP server for
/// its mail, and Debian's Chromium driven by Playwright. Chromium is launched by its path, never
/// downloaded: without <see cref="Variable"/> every test skips and says why.
/// </summary>
public sealed class ChromiumBroker : IAsyncDisposable
{
    public const string Variable = "BROKER_TEST_CHROMIUM";

    public const string OwnerEmail = "owner@blog.example";
    public const string OwnerPassword = "correct horse battery";

    private static readonly string[] ChromiumArguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private IPlaywright? playwright;

    private ChromiumBroker(string chromium, IReadOnlyDictionary<string, string?>? settings)
    {
        ChromiumPath = chromium;
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            Broker.Settings[key] = value;
        }
        var port = Gateway.GatewayCalls.FreePort();
        Address = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        foreach (var (key, value) in Smtp.BrokerSettings)
        {
            Broker.Settings[key] = value;
        }
        Broker.Settings["environment"] = "Development";
        Broker.Settings["Broker:Issuer"] = Address;
        Broker.UseKestrel(port);
        Broker.StartServer();
    }

    /// <summary>Why the browser tests cannot run here, or null.</summary>
    public static string? SkipReason =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"{Variable} is not set: it names the Chromium executable (.ci/run installs Debian's chromium and sets it)"
            : null;

    public string ChromiumPath { get; }

    public BrokerFactory Broker { get; } = new();

    public LoopbackSmtpServer Smtp { get; } = new();

    /// <summary>The broker's own base URL, as the browser reaches it.</summary>
    public string Address { get; }

    public IBrowser Chromium { get; private set; } = null!;

    /// <summary>Where screenshots go: <c>BROKER_TEST_SCREENSHOTS</c>, else <c>screenshots/</c> beside the tests.</summary>
    public static string ScreenshotFolder =>
        Environment.GetEnvironmentVariable("BROKER_TEST_SCREENSHOTS") is { Length: > 0 } folder
            ? folder
            : Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>Starts the broker (with <paramref name="settings"/> on top of the defaults), the mail server and Chromium.</summary>
    public static async Task<ChromiumBroker> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        Skip.If(SkipReason is not null, SkipReason);
        var broker = new ChromiumBroker(Environment.GetEnvironmentVariable(Variable)!, settings);
        broker.playwright = await Playwright.CreateAsync();
        broker.Chromium = await broker.playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = broker.ChromiumPath,
            Headless = true,
            Args = ChromiumArguments,
        });
        await broker.Broker.CreateUserAsync(OwnerEmail, OwnerPassword);
        return broker;
    }

    /// <summary>A fresh browser context (no cookies) with one page of the given width.</summary>
    public async Task<IPage> NewPageAsync(int width = 1024)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = 900 } });
        return await context.NewPageAsync();
    }

    /// <summary>A parent whose installations come back to the broker's demo callback page.</summary>
    public async Task<CreatedApplication> CreateParentAsync(string name, params string[] childEndpoints)
    {
        var app = await Broker.Administration.CreateApplicationAsync(name, ["https://vendor.example/demo/callback"]);
        var parent = await Broker.Administration.EnableParentAsync(
            app.Value!.Client.ClientId, Core.Clients.RedirectPolicy.Installation, "/demo/callback", null, childEndpoints);
        parent.Problem.Should().BeNull();
        return app.Value with { Client = parent.Value! };
    }

    public string AuthorizeUrl(CreatedApplication parent) =>
        $"{Address}/oauth/authorize?client_id={parent.Client.ClientId}" +
        $"&redirect_uri={Uri.EscapeDataString(Address + "/demo/callback")}&response_type=code&scope=public&state=chromium";

    /// <summary>Signs in on the login page the browser is on, as a person types.</summary>
    public static async Task SignInAsync(IPage page, string password = OwnerPassword)
    {
        await page.GetByLabel("E-mail").FillAsync(OwnerEmail);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
    }

    /// <summary>axe-core's serious and critical findings on the page, one line each (none is the goal).</summary>
    public static async Task<IReadOnlyList<string>> SeriousAccessibilityProblemsAsync(IPage page)
    {
        var result = await page.RunAxe();
        return result.Violations
            .Where(violation => violation.Impact is "serious" or "critical")
            .Select(violation => $"{violation.Id} ({violation.Impact}): {violation.Help} at {string.Join(", ", violation.Nodes.Select(node => node.Target?.ToString()))}")
            .ToList();
    }

    /// <summary>Whether anything makes the page or its card scroll sideways.</summary>
    public static Task<bool> OverflowsAsync(IPage page) =>
        page.EvaluateAsync<bool>(
            "() => document.documentElement.scrollWidth > window.innerWidth || [...document.querySelectorAll('main')].some(m => m.scrollWidth > m.clientWidth)");

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.CloseAsync();
        }
        playwright?.Dispose();
        Broker.Dispose();
        await Smtp.DisposeAsync();
    }
}
