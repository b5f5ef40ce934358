using System.Globalization;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Broker.Http;

/// <summary>The RFC 6749 / 6750 / 7591 JSON error, the one error shape of the OAuth endpoints.</summary>
public sealed record OAuthErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription)
{
    /// <summary>A dry-run's every refusal (the first is <see cref="Error"/>); absent on other errors.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("refusals")]
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<RefusalBody>? Refusals { get; init; }
}

public static class OAuthResults
{
    /// <summary>An OAuth error response; Cache-Control: no-store comes from the pipeline.</summary>
    public static JsonHttpResult<OAuthErrorBody> Error(int statusCode, string error, string description) =>
        TypedResults.Json(new OAuthErrorBody(error, description), statusCode: statusCode);

    public static JsonHttpResult<OAuthErrorBody> BadRequest(string error, string description) =>
        Error(StatusCodes.Status400BadRequest, error, description);

    /// <summary>A refused write: the first refusal's error, as the real write answers it; a dry-run also lists every refusal.</summary>
    public static JsonHttpResult<OAuthErrorBody> Refused(IReadOnlyList<Refusal> refusals, bool dryRun) =>
        TypedResults.Json(new OAuthErrorBody(refusals[0].Error.Error, refusals[0].Error.Description)
        {
            Refusals = dryRun ? DryRun.Bodies(refusals) : null,
        }, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>401 invalid_client, with the WWW-Authenticate challenge RFC 6749 §5.2 asks for.</summary>
    public static JsonHttpResult<OAuthErrorBody> InvalidClient(HttpContext context, string description)
    {
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"broker\", charset=\"UTF-8\"";
        return Error(StatusCodes.Status401Unauthorized, OAuthErrors.InvalidClient, description);
    }

    /// <summary>A bearer-token refusal (RFC 6750 §3): 401 invalid_token or 403 insufficient_scope.</summary>
    public static JsonHttpResult<OAuthErrorBody> BearerError(HttpContext context, int statusCode, string error, string description)
    {
        context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"broker\", error=\"{error}\"";
        return Error(statusCode, error, description);
    }

    /// <summary>429 with Retry-After in whole seconds.</summary>
    public static JsonHttpResult<OAuthErrorBody> TooManyRequests(HttpContext context, TimeSpan retryAfter, string error, string description)
    {
        context.Response.Headers.RetryAfter = RetryAfterSeconds(retryAfter);
        return Error(StatusCodes.Status429TooManyRequests, error, description);
    }

    public static string RetryAfterSeconds(TimeSpan retryAfter) =>
        WholeSecondsAtLeastOne(retryAfter).ToString(CultureInfo.InvariantCulture);

    /// <summary>A wait in whole seconds, rounded up and never 0 (a client told 0 would come back at once).</summary>
    public static int WholeSecondsAtLeastOne(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
