using System.Net;
using Microsoft.AspNetCore.Diagnostics;
using Broker.Installation;
using Broker.Management;
using Broker.Pages;
using Broker.Storage;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broker.Hosting;

/// <summary>Pipeline-wide protections: size limits, security headers, forwarding and error shapes.</summary>
public static class WebSecurity
{
    /// <summary>The largest request body any endpoint accepts.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

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

    public static WebApplication UseWebSecurity(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = WriteErrorAsync,
            // A database outage is expected: Database logs its start and end once, not an error with a
            // stack trace for every request it fails.
            SuppressDiagnosticsCallback = handled => handled.HttpContext.RequestServices.GetRequiredService<Database>().IsUnavailable(handled.Exception),
        });
        // ASP.NET Core trusts every hop when both trust lists are empty, so with no proxy configured the
        // forwarding headers are not read at all: the socket's address is the caller's.
        var forwarding = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ForwardedHeadersOptions>>().Value;
        if (forwarding.KnownProxies.Count > 0 || forwarding.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }
        app.Use(async (context, next) =>
        {
            // Refuse an over-long declared body before anything reads it (Kestrel also caps streamed bodies).
            if (context.Request.ContentLength > MaxRequestBodyBytes)
            {
                await WriteOAuthStyleErrorAsync(context, StatusCodes.Status413PayloadTooLarge,
                    "invalid_request", $"request body must be at most {MaxRequestBodyBytes} bytes");
                return;
            }
            WriteSecurityHeaders(context);
            await next(context);
        });
        return app;
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
        WriteSecurityHeaders(context);
        if (exception is BadHttpRequestException badRequest)
        {
            await WriteOAuthStyleErrorAsync(context, badRequest.StatusCode, "invalid_request", badRequest.Message);
            return;
        }
        if (exception is not null && context.RequestServices.GetRequiredService<Database>().IsUnavailable(exception))
        {
            var retryAfter = context.RequestServices.GetRequiredService<IOptions<StorageOptions>>().Value.RetryAfter;
            context.Response.Headers.RetryAfter = OAuthResults.RetryAfterSeconds(retryAfter);
            await Unavailable(handled?.Endpoint?.Metadata.GetMetadata<ErrorFormatMetadata>()?.Format ?? ErrorFormat.OAuth)
                .ExecuteAsync(context);
            return;
        }
        await WriteOAuthStyleErrorAsync(context, StatusCodes.Status500InternalServerError, "server_error",
            "the broker failed to handle this request; it has been logged");
    }

    private const string UnavailableMessage = "The broker cannot reach its database right now. Nothing was saved; please try again shortly.";

    private static IResult Unavailable(ErrorFormat format) => format switch
    {
        ErrorFormat.Page => Html.Error("Temporarily unavailable", UnavailableMessage, StatusCodes.Status503ServiceUnavailable),
        ErrorFormat.Problem => ManagementProblems.Problem(StatusCodes.Status503ServiceUnavailable, "Temporarily unavailable", UnavailableMessage),
        _ => OAuthResults.Error(StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable", UnavailableMessage),
    };

    private static Task WriteOAuthStyleErrorAsync(HttpContext context, int statusCode, string error, string description)
    {
        context.Response.StatusCode = statusCode;
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        return context.Response.WriteAsJsonAsync(new { error, error_description = description });
    }
}
