using Broker.Core.Platform;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Hosting;
using Broker.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Broker.Registration;

/// <summary>Auth0's <c>/api/v2/tenants/settings</c>, limited to the flags this broker has.</summary>
public static class TenantSettingsEndpoints
{
    public const string Path = "/api/v2/tenants/settings";

    public static IEndpointRouteBuilder MapTenantSettings(this IEndpointRouteBuilder routes)
    {
        var settings = routes.MapGroup(Path).WithTags("Tenant settings").WithErrorFormat(ErrorFormat.Problem).RequireAdmin(AdminScopes.TenantWrite);
        settings.MapGet("", Read);
        settings.MapPatch("", Update);
        return routes;
    }

    private static async Task<Ok<JsonObject>> Read(TenantSettings settings, CancellationToken cancellationToken) =>
        TypedResults.Ok(await DocumentAsync(settings, cancellationToken));

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> Update(HttpContext context, TenantSettings settings)
    {
        var (document, problem) = await RequestJson.TryReadAsync(context.Request, context.RequestAborted);
        if (document is null)
        {
            return Invalid(problem!);
        }
        var changes = new Dictionary<string, bool>(StringComparer.Ordinal);
        using (document)
        {
            // Reject anything but {"flags": {known_flag: true|false, …}}; nothing is written unless all of it is valid.
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Invalid("the body must be a JSON object");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name != "flags")
                {
                    return Invalid($"'{property.Name}' is not a setting this tenant has; only flags can be changed");
                }
                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    return Invalid("flags must be an object");
                }
                foreach (var flag in property.Value.EnumerateObject())
                {
                    if (!TenantSettings.KnownFlags.Contains(flag.Name))
                    {
                        return Invalid($"unknown flag '{flag.Name}'; known: {string.Join(", ", TenantSettings.KnownFlags)}");
                    }
                    if (flag.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return Invalid($"flags.{flag.Name} must be true or false");
                    }
                    changes[flag.Name] = flag.Value.GetBoolean();
                }
            }
        }
        foreach (var (flag, value) in changes)
        {
            await settings.SetAsync(flag, value, AdminAuthentication.Actor(context), context.RequestAborted);
        }
        return TypedResults.Ok(await DocumentAsync(settings, context.RequestAborted));
    }

    private static async Task<JsonObject> DocumentAsync(TenantSettings settings, CancellationToken cancellationToken)
    {
        var flags = new JsonObject();
        foreach (var flag in TenantSettings.KnownFlags)
        {
            flags[flag] = await settings.IsEnabledAsync(flag, cancellationToken);
        }
        return new JsonObject { ["flags"] = flags };
    }

    private static ProblemHttpResult Invalid(string detail) =>
        ManagementProblems.Problem(StatusCodes.Status400BadRequest, "Invalid tenant settings", detail);
}
