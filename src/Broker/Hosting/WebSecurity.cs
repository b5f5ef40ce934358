using System.Net;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using Broker.Http;
using Broker.Storage;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using static Broker.Http.ErrorFormatExtensions;

namespace Broker.Hosting;

/// <summary>Pipeline-wide protections: size limits, security headers, forwarding and error shapes.</summary>
public static class WebSecurity
{
    /// <summary>The largest request body any endpoint accepts.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    // img-src allows https: the brand's logo and verified parents' logo_uri live on other hosts (an
    // image runs no script; no-referrer keeps the page's URL from them).
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; base-uri 'none'; frame-ancestors 'none'";

    public static WebApplicationBuilder AddWebSecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddLogRedaction();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
        });
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(form =>
        {
            form.ValueCountLimit = 64;
            form.KeyLengthLimit = 256;
            form.ValueLengthLimit = (int)MaxRequestBodyBytes;
            form.MultipartBodyLengthLimit = MaxRequestBodyBytes;
        });
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Trust no hop by default (ASP.NET Core would trust loopback): only listed proxies.
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            foreach (var proxy in builder.Configuration.GetSection("ForwardedHeaders:KnownProxies").Get<string[]>() ?? [])
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
        builder.Services.AddProblemDetails();
        return builder;
    }

    /// <summary>
    /// Errors in the route family's own format: the caller's framing faults with their status, a database
    /// that cannot be reached as a 503, anything else as a 500 without a stack trace.
    /// </summary>
    public static ExceptionHandlerOptions ExceptionHandling => new()
    {
        ExceptionHandler = WriteErrorAsync,
        // A database outage is expected: Database logs its start and end once, not an error with a
        // stack trace for every request it fails. An unreadable signing key is logged once where found.
        SuppressDiagnosticsCallback = handled => handled.Exception is SigningKeyUnreadableException
            || handled.HttpContext.RequestServices.GetRequiredService<Database>().IsUnavailable(handled.Exception),
    };

    /// <summary>
    /// Whether forwarding headers are to be read. ASP.NET Core trusts every hop when both trust lists are
    /// empty, so with no proxy configured they are not read at all: the socket's address is the caller's.
    /// </summary>
    public static bool TrustsProxies(IServiceProvider services)
    {
        var forwarding = services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        return forwarding.KnownProxies.Count > 0 || forwarding.KnownIPNetworks.Count > 0;
    }

    /// <summary>Every response's security headers, and the body limit for requests that declare their length.</summary>
    public static Task LimitBodyAndSetSecurityHeadersAsync(HttpContext context, RequestDelegate next)
    {
        WriteSecurityHeaders(context);
        // Refuse an over-long declared body before anything reads it (Kestrel also caps streamed bodies).
        if (context.Request.ContentLength > MaxRequestBodyBytes)
        {
            return ErrorFormatOf(context.GetEndpoint(), context.Request.Path)
                .Error(StatusCodes.Status413PayloadTooLarge, "invalid_request", "Request too large",
                    $"request body must be at most {MaxRequestBodyBytes} bytes")
                .ExecuteAsync(context);
        }
        // Not awaited here: a state machine per call for nothing.
        return next(context);
    }

    // The exception handler clears the response, headers included: error answers need them again.
    private static void WriteSecurityHeaders(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers[HeaderNames.XFrameOptions] = "DENY";
        headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        headers["Referrer-Policy"] = "no-referrer";
        if (!context.Request.Path.StartsWithSegments("/static"))
        {
            headers[HeaderNames.CacheControl] = "no-store";
            headers[HeaderNames.Pragma] = "no-cache";
        }
    }

    // Framing and size faults from the server (BadHttpRequestException) are the caller's: their own
    // status. A database that is unreachable, restarting or too slow (after the storage layer's retries)
    // is a 503 with Retry-After in the route's own error format: nothing was committed, so the caller
    // may try again. Anything else is our bug: a 500 that says so without a stack trace.
    private static async Task WriteErrorAsync(HttpContext context)
    {
        var handled = context.Features.Get<IExceptionHandlerFeature>();
        var exception = handled?.Error;
        var format = ErrorFormatOf(handled?.Endpoint, handled?.Path ?? context.Request.Path);
        WriteSecurityHeaders(context);
        if (exception is BadHttpRequestException badRequest)
        {
            await format.Error(badRequest.StatusCode, "invalid_request", ReasonPhrases.GetReasonPhrase(badRequest.StatusCode), badRequest.Message)
                .ExecuteAsync(context);
            return;
        }
        if (exception is not null && context.RequestServices.GetRequiredService<Database>().IsUnavailable(exception))
        {
            var retryAfter = context.RequestServices.GetRequiredService<IOptions<StorageOptions>>().Value.RetryAfter;
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            await format.Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "Temporarily unavailable", UnavailableMessage)
                .ExecuteAsync(context);
            return;
        }
        if (exception is SigningKeyUnreadableException)
        {
            // Logged as critical where it happened; the token was not stored, so the same request may be sent again.
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(context.RequestServices.GetRequiredService<IOptions<StorageOptions>>().Value.RetryAfter);
            await format.Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", "Temporarily unavailable",
                "The broker cannot sign tokens right now. Nothing was saved; please try again later.").ExecuteAsync(context);
            return;
        }
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        await ErrorFormat.OAuth.Error(StatusCodes.Status500InternalServerError, "server_error", "Internal Server Error",
            "the broker failed to handle this request; it has been logged").ExecuteAsync(context);
    }

    private const string UnavailableMessage = "The broker cannot reach its database right now. Nothing was saved; please try again shortly.";

    /// <summary>
    /// A body for the answers the pipeline makes without one (404 no route, 405 wrong method, 415), in
    /// the route family's format, as every error has.
    /// </summary>
    public static Task WriteStatusPageAsync(StatusCodeContext statusCode)
    {
        var context = statusCode.HttpContext;
        var status = context.Response.StatusCode;
        var title = ReasonPhrases.GetReasonPhrase(status);
        var description = status switch
        {
            StatusCodes.Status404NotFound => "there is no such route",
            StatusCodes.Status405MethodNotAllowed => $"this route does not accept {context.Request.Method}",
            StatusCodes.Status415UnsupportedMediaType => "this route does not accept a body of this media type",
            _ => title,
        };
        return ErrorFormatOf(context.GetEndpoint(), context.Request.Path)
            .Error(status, status >= 500 ? "server_error" : "invalid_request", title, description)
            .ExecuteAsync(context);
    }
}
