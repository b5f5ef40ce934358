using Broker.Core.Clients;

namespace Broker.Http;

/// <summary>
/// <c>?dry_run=true</c> on a write: every rule runs, nothing is written or spent, and the answer is the
/// client as it would be stored or every refusal at once. How each refusal reads on the wire.
/// </summary>
public static class DryRun
{
    public const string Parameter = "dry_run";

    /// <summary>Whether the caller asked for a dry-run; a problem for any value but true or false.</summary>
    public static (bool Requested, string? Problem) Read(HttpRequest request)
    {
        var values = request.Query[Parameter];
        return values.Count switch
        {
            0 => (false, null),
            1 when string.Equals(values[0], "true", StringComparison.OrdinalIgnoreCase) => (true, null),
            1 when string.Equals(values[0], "false", StringComparison.OrdinalIgnoreCase) => (false, null),
            _ => (false, $"{Parameter} must be given once, as true or false"),
        };
    }

    /// <summary>Lists <c>dry_run</c> among the operation's parameters in the OpenAPI document (the handler reads it itself, strictly).</summary>
    public static TBuilder DocumentsDryRun<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new Microsoft.OpenApi.OpenApiParameter
            {
                Name = Parameter,
                In = Microsoft.OpenApi.ParameterLocation.Query,
                Required = false,
                Description = "true: run every rule, write and spend nothing; 200 with the client as it would be stored, " +
                    "or 400 with every refusal in 'refusals' (field, rule, reference, hint).",
                Schema = new Microsoft.OpenApi.OpenApiSchema { Type = Microsoft.OpenApi.JsonSchemaType.Boolean },
            });
            return Task.CompletedTask;
        });

    /// <summary>The refusals as a dry-run lists them: field, rule, error, description, reference and hint.</summary>
    public static IReadOnlyList<RefusalBody> Bodies(IEnumerable<Refusal> refusals) =>
        [.. refusals.Select(refusal => new RefusalBody(refusal.Field, refusal.Rule.Id, refusal.Error.Error,
            refusal.Error.Description, refusal.Rule.Reference, refusal.Rule.Hint))];
}

/// <summary>One refusal of a dry-run, in the JSON every route family shares.</summary>
public sealed record RefusalBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("field")] string Field,
    [property: System.Text.Json.Serialization.JsonPropertyName("rule")] string Rule,
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription,
    [property: System.Text.Json.Serialization.JsonPropertyName("reference")] string Reference,
    [property: System.Text.Json.Serialization.JsonPropertyName("hint")] string Hint);
