using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Broker.Http;

namespace Broker.Gateway;

public sealed record PhotoUrls(string Raw, string Full, string Regular, string Small, string Thumb);

public sealed record PhotoUser(string Username, string Name);

public sealed record Photo(string Id, int Width, int Height, string Color, string Description, int Likes, PhotoUrls Urls, PhotoUser User);

public sealed record SearchResults(int Total, int TotalPages, IReadOnlyList<Photo> Results);

public sealed record LikeResult(Photo Photo, PhotoUser User);

public sealed record Me(string Id, string? Installation, string? Parent);

/// <summary>
/// The built-in upstream: a small photo API shaped like Unsplash's, answering the gateway routes
/// when <c>Gateway:Upstream</c> is unset, so that <c>dotnet run</c> shows the whole product. Its data
/// is made up and read-only (a like is answered, not kept).
/// </summary>
public static class DemoApi
{
    private static readonly Photo[] Photos = Enumerable.Range(1, 30).Select(MakePhoto).ToArray();

    /// <summary>Maps each gateway route to its demo handler (an unknown route echoes what was called).</summary>
    public static void MapDemoApi(this IEndpointRouteBuilder routes, IReadOnlyList<Core.Clients.EndpointPattern> patterns, bool gated)
    {
        foreach (var pattern in patterns)
        {
            var endpoint = routes.MapMethods(GatewayForwarding.Template(pattern), GatewayForwarding.Methods(pattern), HandlerFor(pattern.ToString()));
            if (gated)
            {
                endpoint.WithMetadata(GatedEndpoint.Instance);
            }
        }
    }

    private static Delegate HandlerFor(string pattern) => pattern switch
    {
        "GET /photos" => ListPhotos,
        "GET /photos/random" => RandomPhoto,
        "GET /photos/*" => GetPhoto,
        "GET /search/photos" => SearchPhotos,
        "POST /photos/*/like" => LikePhoto,
        "GET /me" => GetMe,
        _ => Echo,
    };

    public static Results<Ok<Photo[]>, JsonHttpResult<OAuthErrorBody>> ListPhotos(HttpRequest request)
    {
        var paging = Paging(request, out var problem);
        if (paging is not { } page)
        {
            return OAuthResults.BadRequest("invalid_request", problem!);
        }
        return TypedResults.Ok(Photos.Skip((page.Page - 1) * page.PerPage).Take(page.PerPage).ToArray());
    }

    public static Ok<Photo> RandomPhoto() => TypedResults.Ok(Photos[RandomNumberGenerator.GetInt32(Photos.Length)]);

    public static Results<Ok<Photo>, JsonHttpResult<OAuthErrorBody>> GetPhoto(string id) =>
        Find(id) is { } photo ? TypedResults.Ok(photo) : NotFound(id);

    public static Results<Ok<SearchResults>, JsonHttpResult<OAuthErrorBody>> SearchPhotos(HttpRequest request)
    {
        var query = request.Query["query"].ToString().Trim();
        // Reject a search without words, as Unsplash does.
        if (query.Length == 0)
        {
            return OAuthResults.BadRequest("invalid_request", "query is missing");
        }
        var paging = Paging(request, out var problem);
        if (paging is not { } page)
        {
            return OAuthResults.BadRequest("invalid_request", problem!);
        }
        var found = Photos.Where(photo => photo.Description.Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        var results = found.Skip((page.Page - 1) * page.PerPage).Take(page.PerPage).ToList();
        return TypedResults.Ok(new SearchResults(found.Count, (found.Count + page.PerPage - 1) / page.PerPage, results));
    }

    public static Results<Created<LikeResult>, JsonHttpResult<OAuthErrorBody>> LikePhoto(string id, HttpContext context) =>
        Find(id) is { } photo
            ? TypedResults.Created((string?)null, new LikeResult(photo with { Likes = photo.Likes + 1 }, CallerAsUser(context)))
            : NotFound(id);

    public static Ok<Me> GetMe(HttpContext context)
    {
        var call = context.Features.Get<GatedCall>();
        return TypedResults.Ok(new Me(call?.OwnerUserId ?? "demo", call?.ClientId, call?.ParentClientId));
    }

    public static Ok<Dictionary<string, string>> Echo(HttpRequest request) =>
        TypedResults.Ok(new Dictionary<string, string> { ["method"] = request.Method, ["path"] = request.Path.Value ?? "/" });

    private static Photo? Find(string id) => Array.Find(Photos, photo => photo.Id == id);

    private static JsonHttpResult<OAuthErrorBody> NotFound(string id) =>
        OAuthResults.Error(StatusCodes.Status404NotFound, "not_found", $"no photo with id '{id}'");

    private static PhotoUser CallerAsUser(HttpContext context) =>
        new(context.Features.Get<GatedCall>()?.OwnerUserId ?? "demo", "Demo user");

    /// <summary>Unsplash's page (from 1) and per_page (1 to 30, default 10).</summary>
    private static (int Page, int PerPage)? Paging(HttpRequest request, out string? problem)
    {
        problem = null;
        var page = 1;
        var perPage = 10;
        // Reject paging that is not a positive number, or pages larger than 30.
        if ((request.Query.ContainsKey("page") && !(int.TryParse(request.Query["page"], NumberStyles.None, CultureInfo.InvariantCulture, out page) && page >= 1))
            || (request.Query.ContainsKey("per_page") && !(int.TryParse(request.Query["per_page"], NumberStyles.None, CultureInfo.InvariantCulture, out perPage) && perPage is >= 1 and <= 30)))
        {
            problem = "page must be a whole number from 1, per_page from 1 to 30";
            return null;
        }
        return (page, perPage);
    }

    private static Photo MakePhoto(int n)
    {
        var id = $"demo{n:D4}photo";
        var subjects = new[] { "mountain lake at dawn", "city street in rain", "forest trail", "desert dunes", "harbour boats", "snowy peaks" };
        var url = $"https://images.example/{id}";
        return new Photo(id, 4000 + (n * 16), 3000 + (n * 8), $"#{(n * 0x1F3A5B) & 0xFFFFFF:X6}", subjects[n % subjects.Length], n * 7,
            new PhotoUrls(url, url + "?w=2400", url + "?w=1080", url + "?w=400", url + "?w=200"), new PhotoUser($"photographer{n % 5}", $"Photographer {n % 5}"));
    }
}
