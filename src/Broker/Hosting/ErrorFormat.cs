namespace Broker.Hosting;

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
    public static TBuilder WithErrorFormat<TBuilder>(this TBuilder builder, ErrorFormat format) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ErrorFormatMetadata(format));
}
