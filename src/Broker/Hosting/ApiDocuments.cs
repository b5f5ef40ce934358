using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Broker.Hosting;

/// <summary>
/// The OpenAPI document of the admin and management routes (<c>/openapi/v1.json</c>) and a Scalar
/// API reference page over it (<c>/scalar</c>). Both are public: they describe, they grant nothing.
/// </summary>
public static class ApiDocuments
{
    public const string ReferencePath = "/scalar";

    /// <summary>Route prefixes the document covers; installation, account and gateway routes are not an admin's API.</summary>
    private static readonly string[] DocumentedPrefixes = ["admin/", "oauth2/v1/clients", "api/v2/"];

    // The reference page runs Scalar's inline bootstrap script; it shows no caller-supplied content.
    private const string ReferencePageCsp =
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

    public static IServiceCollection AddApiDocuments(this IServiceCollection services)
    {
        services.AddOpenApi(options =>
        {
            options.ShouldInclude = description =>
                description.RelativePath is { } path && DocumentedPrefixes.Any(prefix => path.StartsWith(prefix, StringComparison.Ordinal));
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Broker admin API";
                document.Info.Description = "Platform (/admin/v1) and management routes. Send Authorization: SSWS <admin token>, " +
                    "or an Entra ID bearer token where configured.";
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[AdminAuthentication.ApiTokenScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = "Authorization",
                    Description = "An admin API token, sent as: SSWS <token>",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(AdminAuthentication.ApiTokenScheme, document)] = [],
                });
                return Task.CompletedTask;
            });
        });
        return services;
    }

    /// <summary>The reference page's own Content-Security-Policy, in place of the pipeline's.</summary>
    public static Task SetReferencePagePolicyAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path.StartsWithSegments(ReferencePath))
        {
            context.Response.OnStarting(() =>
            {
                context.Response.Headers.ContentSecurityPolicy = ReferencePageCsp;
                return Task.CompletedTask;
            });
        }
        return next(context);
    }

    public static WebApplication MapApiDocuments(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(ReferencePath, options => options.WithTitle("Broker admin API"));
        return app;
    }
}
