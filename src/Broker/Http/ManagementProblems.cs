using Broker.Core.Clients;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Broker.Http;

/// <summary>
/// ProblemDetails (RFC 9457) for the management routes; validation refusals also carry the RFC 7591
/// <c>error</c> and <c>error_description</c> members, so a registration client reads them as usual.
/// </summary>
public static class ManagementProblems
{
    public static ProblemHttpResult Problem(int statusCode, string title, string detail, string? error = null) =>
        TypedResults.Problem(detail, statusCode: statusCode, title: title,
            extensions: error is null ? null : new Dictionary<string, object?> { ["error"] = error, ["error_description"] = detail });

    public static ProblemHttpResult NotFound(string clientId) =>
        Problem(StatusCodes.Status404NotFound, "Client not found", $"no client with client_id '{clientId}'");

    public static ProblemHttpResult Invalid(string error, string detail) =>
        Problem(StatusCodes.Status400BadRequest, "Invalid client metadata", detail, error);

    /// <summary>A refused write: the first refusal, as the real write answers it; a dry-run also lists every refusal.</summary>
    public static ProblemHttpResult Refused(IReadOnlyList<Refusal> refusals, bool dryRun)
    {
        var first = refusals[0].Error;
        var extensions = new Dictionary<string, object?> { ["error"] = first.Error, ["error_description"] = first.Description };
        if (dryRun)
        {
            extensions["refusals"] = DryRun.Bodies(refusals);
        }
        return TypedResults.Problem(first.Description, statusCode: StatusCodes.Status400BadRequest, title: "Invalid client metadata", extensions: extensions);
    }
}
