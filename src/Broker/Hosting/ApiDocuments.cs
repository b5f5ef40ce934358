using Microsoft.AspNetCore.Authentication;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Broker.Hosting;

/// <summary>
/// Who may call a documented route that is not an admin route (admin routes say so through
/// <see cref="AdminAuthentication.RequireAdmin{TBuilder}"/>); the OpenAPI document states it on the operation.
/// </summary>
public sealed class ApiSecurity
{
    /// <summary>Anyone: open registration's create (gated by the tenant flag) and the discovery documents.</summary>
    public static readonly ApiSecurity None = new(null);

    /// <summary>RFC 7592: the registration access token that open registration returned, as a bearer token.</summary>
    public static readonly ApiSecurity RegistrationAccessToken = new(ApiDocuments.RegistrationAccessTokenScheme);

    /// <summary>The parent's one-time installation token, as a bearer token.</summary>
    public static readonly ApiSecurity InstallationToken = new(ApiDocuments.InstallationTokenScheme);

    private ApiSecurity(string? scheme) => Scheme = scheme;

    /// <summary>The security scheme's name in the document; null for none.</summary>
    public string? Scheme { get; }
}

/// <summary>
/// The OpenAPI document (<c>/openapi/v1.json</c>) and a Scalar API reference page over it (<c>/scalar</c>):
/// the admin and management routes, open registration (RFC 7591/7592), <c>POST /clients</c> and the
/// discovery documents, each operation with its own security. Both are public: they describe, they grant nothing.
/// </summary>
public static class ApiDocuments
{
    public const string ReferencePath = "/scalar";

    public const string Title = "Broker API: administration, registration and discovery";

    public const string RegistrationAccessTokenScheme = "RegistrationAccessToken";

    public const string InstallationTokenScheme = "InstallationToken";

    /// <summary>Route prefixes the document covers; the authorization, token, account, console and gateway routes are not.</summary>
    private static readonly string[] DocumentedPrefixes = ["admin/", "oauth2/v1/clients", "api/v2/", "oidc/register"];

    /// <summary>Single routes the document covers besides those prefixes.</summary>
    private static readonly string[] DocumentedPaths = ["clients", ".well-known/oauth-authorization-server", ".well-known/jwks.json"];

    // The reference page runs Scalar's inline bootstrap script; it shows no caller-supplied content.
    private const string ReferencePageCsp =
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

    private const string DocumentDescription =
        "Admin and management routes (/admin/v1, /oauth2/v1/clients, /api/v2/tenants/settings): Authorization: SSWS <admin token>, " +
        "or an Entra ID bearer token where configured. Open registration: POST /oidc/register (RFC 7591, no credentials, " +
        "while the tenant allows it) and GET/PUT/DELETE /oidc/register/{clientId} (RFC 7592, the registration access token " +
        "as a bearer token). The installation's POST /clients: the parent's one-time installation token as a bearer token. " +
        "Discovery: /.well-known/oauth-authorization-server (RFC 8414) and its jwks_uri /.well-known/jwks.json (RFC 7517), " +
        "no credentials. Each operation states its own security. Writes taking ?dry_run=true (POST /oidc/register, " +
        "PUT /oidc/register/{clientId}, POST and PUT /oauth2/v1/clients, POST /clients) run every rule, write and spend nothing, " +
        "and answer the client as it would be stored or every refusal at once.";

    /// <summary>Who may call the route: the document's only statement of security is on each operation.</summary>
    public static TBuilder DocumentsSecurity<TBuilder>(this TBuilder builder, ApiSecurity security) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(security);

    /// <summary>
    /// States the request body in the document only. <c>Accepts</c> would also make routing answer any other media
    /// type with a bare 415 before the handler runs, where these protocols owe their own error (RFC 7591's
    /// <c>invalid_client_metadata</c>, for one), so the body is added to the operation instead.
    /// </summary>
    public static RouteHandlerBuilder DocumentsBody<TBody>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(TBody), null, cancellationToken);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = contentTypes.ToDictionary(type => type, _ => new OpenApiMediaType { Schema = schema }),
            };
        });

    public static IServiceCollection AddApiDocuments(this IServiceCollection services)
    {
        services.AddOpenApi(options =>
        {
            options.ShouldInclude = description => description.RelativePath is { } path
                && (DocumentedPaths.Contains(path, StringComparer.Ordinal)
                    || DocumentedPrefixes.Any(prefix => path.StartsWith(prefix, StringComparison.Ordinal)));
            // Operation transformers run before document transformers; references are resolved by name once the
            // document is complete, so the schemes the document transformer adds below are found.
            options.AddOperationTransformer(async (operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<AdminEndpointMetadata>().Any())
                {
                    // Alternatives: either scheme alone is enough.
                    operation.Security = [Requirement(AdminAuthentication.ApiTokenScheme, context.Document)];
                    if (await EntraConfiguredAsync(context.ApplicationServices))
                    {
                        operation.Security.Add(Requirement(AdminAuthentication.EntraScheme, context.Document));
                    }
                }
                else if (metadata.OfType<ApiSecurity>().LastOrDefault() is { } security)
                {
                    operation.Security = security.Scheme is { } scheme ? [Requirement(scheme, context.Document)] : [];
                }
            });
            options.AddDocumentTransformer(async (document, context, _) =>
            {
                document.Info.Title = Title;
                document.Info.Description = DocumentDescription;
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[AdminAuthentication.ApiTokenScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = "Authorization",
                    Description = "An admin API token, sent as: SSWS <token>",
                };
                if (await EntraConfiguredAsync(context.ApplicationServices))
                {
                    document.Components.SecuritySchemes[AdminAuthentication.EntraScheme] = new OpenApiSecurityScheme
                    {
                        Type = SecuritySchemeType.Http,
                        Scheme = "bearer",
                        BearerFormat = "JWT",
                        Description = "A Microsoft Entra ID access token for this API whose app roles map onto the admin scopes",
                    };
                }
                document.Components.SecuritySchemes[RegistrationAccessTokenScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "RFC 7592: the registration_access_token that POST /oidc/register returned for this client",
                };
                document.Components.SecuritySchemes[InstallationTokenScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "The parent's one-time installation token (POST /oauth/token with the installation's code), spent by POST /clients",
                };
            });
        });
        return services;
    }

    private static OpenApiSecurityRequirement Requirement(string scheme, OpenApiDocument? document) =>
        new() { [new OpenApiSecuritySchemeReference(scheme, document)] = [] };

    private static async Task<bool> EntraConfiguredAsync(IServiceProvider services) =>
        await services.GetRequiredService<IAuthenticationSchemeProvider>().GetSchemeAsync(AdminAuthentication.EntraScheme) is not null;

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
        app.MapScalarApiReference(ReferencePath, options => options.WithTitle(Title));
        return app;
    }
}
