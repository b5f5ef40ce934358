using Broker.Core.Clients;

namespace Broker.Http;

/// <summary>
/// How the pages present an application asking for access: its name always, its vendor's site, and
/// its logo only when the platform created it or a trusted vendor signed its metadata (a
/// self-registered client could pose as anyone with a borrowed logo, so it gets the "unverified"
/// label instead).
/// </summary>
public static class ApplicationCard
{
    /// <summary>Created by the platform team, or registered with a software statement a trusted issuer signed.</summary>
    public static bool IsVerified(Client client) => client.Source == RegistrationSource.Admin || client.SoftwareVendor is not null;

    /// <summary>The card: logo (verified only), name, verification and a link to the vendor.</summary>
    public static string Render(Client client, string productName)
    {
        var logo = IsVerified(client) && ShowableUri(client.Metadata.LogoUri) is { } logoUri
            ? $"<img src=\"{Html.Text(logoUri)}\" alt=\"\">"
            : "";
        var standing = client.SoftwareVendor is { } signedBy
            ? $"By {Html.Untrusted(signedBy)} (signed statement checked by {Html.Text(productName)})"
            : IsVerified(client)
                ? $"Verified by {Html.Text(productName)}"
                : "<span class=\"badge\">Unverified</span> registered itself; not reviewed";
        var vendor = ShowableUri(client.Metadata.ClientUri) is { } vendorUri
            ? $" · <a href=\"{Html.Text(vendorUri)}\" rel=\"noopener noreferrer nofollow\">{Html.Text(new Uri(vendorUri).IdnHost)}</a>"
            : "";
        return $"""
            <div class="app">{logo}<div><p class="name">{Html.Untrusted(client.Name)}</p><p class="fine">{standing}{vendor}</p></div></div>
            """;
    }

    /// <summary>
    /// The endpoint patterns the access lets the application call: for a parent, what each installation
    /// will get; for another client, its own.
    /// </summary>
    public static IReadOnlyList<string> GrantedEndpoints(Client client) =>
        client.Role switch
        {
            ParentRole parent => parent.ChildEndpoints,
            InstallationRole installation => installation.Endpoints,
            _ => null,
        } ?? EndpointPattern.DefaultChildEndpoints;

    // Stored URIs were checked when registered; checked again here because a page must never link to
    // a script URL or an internal address whatever the database holds.
    private static string? ShowableUri(string? uri) =>
        uri is not null && ClientMetadataRules.InformationUriProblem("uri", uri) is null ? uri : null;
}

/// <summary>
/// Whitelisted endpoints in plain words for the consent page: <c>GET /photos/*</c> is "read photos",
/// <c>GET /search/photos</c> "search photos". A pattern of any other shape is shown as written: a
/// guessed description could understate what it allows.
/// </summary>
public static class AccessDescription
{
    public static IReadOnlyList<string> Describe(IEnumerable<string> patterns) =>
        patterns.Select(Describe).Distinct(StringComparer.Ordinal).ToList();

    public static string Describe(string pattern)
    {
        if (EndpointPattern.TryParse(pattern, out _) is not { } parsed)
        {
            return pattern;
        }
        var segments = parsed.Segments;
        // GET /search/photos: searching a collection.
        if (parsed.Method is "GET" or "HEAD" && segments is ["search", var searched] && IsWord(searched))
        {
            return $"search {Words(searched)}";
        }
        // METHOD /photos, METHOD /photos/* and (reads only) GET /photos/random: one collection.
        var collection = segments switch
        {
            [var only] => only,
            [var first, "*"] => first,
            [var first, var second] when parsed.Method is "GET" or "HEAD" && IsWord(second) => first,
            _ => null,
        };
        var verb = parsed.Method switch
        {
            "GET" or "HEAD" => "read",
            "POST" => "add",
            "PUT" or "PATCH" => "change",
            "DELETE" => "delete",
            _ => null,
        };
        return collection is not null && IsWord(collection) && verb is not null
            ? $"{verb} {Words(collection)}"
            : parsed.ToString();
    }

    private static bool IsWord(string segment) =>
        segment.Length > 0 && segment.All(c => char.IsAsciiLetter(c) || c is '-' or '_') && segment.Any(char.IsAsciiLetter);

    private static string Words(string segment) => segment.Replace('-', ' ').Replace('_', ' ').ToLowerInvariant();
}
