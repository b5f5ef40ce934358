
namespace Broker.Http;

/// <summary>How a route reports errors, so that the pipeline's own answers (503 while the database is away) match the route's.</summary>
public enum ErrorFormat
{
    /// <summary>RFC 6749 / 7591 JSON <c>{"error", "error_description"}</c>: the default.</summary>
    OAuth,

    /// <summary>An HTML error page (login, join, consent, account pages).</summary>
    Page,

    /// <summary>RFC 9457 ProblemDetails (management and admin APIs).</summary>
    Problem,
}

/// <summary>Endpoint metadata naming the route's <see cref="ErrorFormat"/>.</summary>
public sealed record ErrorFormatMetadata(ErrorFormat Format);

public static class ErrorFormatExtensions
{
    // The route families by path, for answers with no endpoint of the family to ask (404, 405, framing
    // faults): the same prefixes the families are mapped under.
    private static readonly (string Prefix, ErrorFormat Format)[] FamiliesByPath =
    [
        ("/admin/v1", ErrorFormat.Problem),
        ("/oauth2/v1", ErrorFormat.Problem),
        ("/api/v2", ErrorFormat.Problem),
        ("/account", ErrorFormat.Page),
        ("/console", ErrorFormat.Page),
        ("/oauth/authorize", ErrorFormat.Page),
    ];

    public static TBuilder WithErrorFormat<TBuilder>(this TBuilder builder, ErrorFormat format) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ErrorFormatMetadata(format));

    /// <summary>The format of <paramref name="endpoint"/>, or of the family <paramref name="path"/> belongs to when it names none.</summary>
    public static ErrorFormat ErrorFormatOf(Endpoint? endpoint, PathString path) =>
        endpoint?.Metadata.GetMetadata<ErrorFormatMetadata>()?.Format
        ?? FamiliesByPath.FirstOrDefault(family => path.StartsWithSegments(family.Prefix, StringComparison.OrdinalIgnoreCase)).Format;

    /// <summary>
    /// An error in <paramref name="format"/>: <paramref name="title"/> heads a page or a problem,
    /// <paramref name="oauthError"/> is the RFC 6749 code of the JSON form.
    /// </summary>
    public static IResult Error(this ErrorFormat format, int statusCode, string oauthError, string title, string description) => format switch
    {
        ErrorFormat.Page => Html.Error(title, description, statusCode),
        ErrorFormat.Problem => ManagementProblems.Problem(statusCode, title, description),
        _ => OAuthResults.Error(statusCode, oauthError, description),
    };
}
