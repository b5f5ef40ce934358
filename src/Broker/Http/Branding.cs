using System.Globalization;
using Broker.Core.Clients;
using Microsoft.Extensions.Options;

namespace Broker.Http;

/// <summary>The <c>Branding</c> section: how the pages people see name and colour the deployment.</summary>
public sealed class BrandingOptions
{
    public const string Section = "Branding";

    /// <summary>The product's name in every page's header and title, and in mails.</summary>
    public string ProductName { get; set; } = "Broker";

    /// <summary>An https logo shown beside the product name; null shows the name alone.</summary>
    public string? LogoUri { get; set; }

    /// <summary>Buttons and links, as <c>#rrggbb</c>; white text sits on it and it sits on white.</summary>
    public string AccentColor { get; set; } = "#1d4ed8";

    /// <summary>The page behind the card, as <c>#rrggbb</c>; the product name is written on it in near-black.</summary>
    public string BackgroundColor { get; set; } = "#f3f4f6";
}

/// <summary>
/// Refuses branding that would make the pages unreadable or unsafe: colours must keep WCAG AA contrast
/// (4.5:1) for the text drawn on or against them, and the logo follows the rules of any client logo.
/// </summary>
internal sealed class BrandingOptionsValidation : IValidateOptions<BrandingOptions>
{
    public const double MinimumContrast = 4.5;

    public ValidateOptionsResult Validate(string? name, BrandingOptions options)
    {
        var failures = new List<string>();
        // Reject an empty, over-long or control-character product name.
        if (string.IsNullOrWhiteSpace(options.ProductName) || options.ProductName.Length > 60 || options.ProductName.Any(char.IsControl))
        {
            failures.Add("Branding:ProductName must be 1 to 60 characters without control characters.");
        }
        // Reject a logo a client could not register either (https, public host).
        if (options.LogoUri is not null && ClientMetadataRules.InformationUriProblem("Branding:LogoUri", options.LogoUri) is { } logoProblem)
        {
            failures.Add(logoProblem + ".");
        }
        // Reject an accent white text cannot be read on (buttons), or that cannot be read on white (links).
        if (ColourContrast.Parse(options.AccentColor) is not { } accent)
        {
            failures.Add("Branding:AccentColor must be a colour written #rrggbb.");
        }
        else if (ColourContrast.Ratio(accent, ColourContrast.White) < MinimumContrast)
        {
            failures.Add($"Branding:AccentColor must contrast with white at least {MinimumContrast}:1 (it is {ColourContrast.Ratio(accent, ColourContrast.White):0.0}:1).");
        }
        // Reject a background the product name (near-black) cannot be read on.
        if (ColourContrast.Parse(options.BackgroundColor) is not { } background)
        {
            failures.Add("Branding:BackgroundColor must be a colour written #rrggbb.");
        }
        else if (ColourContrast.Ratio(background, ColourContrast.Text) < MinimumContrast)
        {
            failures.Add($"Branding:BackgroundColor must contrast with the text colour at least {MinimumContrast}:1 (it is {ColourContrast.Ratio(background, ColourContrast.Text):0.0}:1).");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>WCAG 2 relative luminance and contrast ratio of <c>#rrggbb</c> colours.</summary>
internal static class ColourContrast
{
    public static readonly (int R, int G, int B) White = (255, 255, 255);

    /// <summary>The pages' text colour (the stylesheet's <c>--text</c>).</summary>
    public static readonly (int R, int G, int B) Text = (17, 24, 39);

    public static (int R, int G, int B)? Parse(string? colour) =>
        colour is { Length: 7 } && colour[0] == '#'
        && int.TryParse(colour.AsSpan(1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var rgb)
            ? ((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff)
            : null;

    public static double Ratio((int R, int G, int B) first, (int R, int G, int B) second)
    {
        var (lighter, darker) = (Luminance(first), Luminance(second));
        if (lighter < darker)
        {
            (lighter, darker) = (darker, lighter);
        }
        return (lighter + 0.05) / (darker + 0.05);
    }

    private static double Luminance((int R, int G, int B) colour) =>
        0.2126 * Linear(colour.R) + 0.7152 * Linear(colour.G) + 0.0722 * Linear(colour.B);

    private static double Linear(int channel)
    {
        var value = channel / 255.0;
        return value <= 0.04045 ? value / 12.92 : Math.Pow((value + 0.055) / 1.055, 2.4);
    }
}

/// <summary>
/// The deployment's branding as the pages use it, with the stylesheet made once at start: the colours
/// from configuration become CSS custom properties in the served file, because the CSP
/// (<c>style-src 'self'</c>) refuses inline styles.
/// </summary>
public sealed class PageBranding(IOptions<BrandingOptions> options)
{
    public string ProductName { get; } = options.Value.ProductName.Trim();

    public string? LogoUri { get; } = options.Value.LogoUri;

    public string Stylesheet { get; } =
        $":root {{ --accent: {options.Value.AccentColor.ToLowerInvariant()}; --page: {options.Value.BackgroundColor.ToLowerInvariant()}; }}\n"
        + Html.StylesheetRules;
}

public static class BrandingSetup
{
    public static IServiceCollection AddBranding(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BrandingOptions>().Bind(configuration.GetSection(BrandingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrandingOptions>, BrandingOptionsValidation>();
        services.AddSingleton<PageBranding>();
        return services;
    }
}
