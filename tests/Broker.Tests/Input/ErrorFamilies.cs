using System.Text.Json;

namespace Broker.Tests.Input;

/// <summary>The error format each route family answers in (DESIGN.md "Error shapes"), and a check of a response against it.</summary>
public static class ErrorFamilies
{
    public enum Family
    {
        OAuth,
        Problem,
        Page,
    }

    public static Family Of(string path) =>
        path.StartsWith("/admin/v1", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("/oauth2/v1", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("/api/v2", StringComparison.OrdinalIgnoreCase) ? Family.Problem
        : path.StartsWith("/account", StringComparison.OrdinalIgnoreCase)
        || path.StartsWith("/oauth/authorize", StringComparison.OrdinalIgnoreCase) ? Family.Page
        : Family.OAuth;

    /// <summary>Null when <paramref name="body"/> is a well-formed error of <paramref name="family"/>; else what is wrong.</summary>
    public static string? Problem(Family family, string? mediaType, string body)
    {
        if (body.Length == 0)
        {
            return "the error body is empty";
        }
        switch (family)
        {
            case Family.Page:
                return mediaType == "text/html" && body.Contains("<html", StringComparison.OrdinalIgnoreCase)
                    ? null : $"expected an HTML page, got {mediaType}: {Cut(body)}";
            case Family.Problem:
                return mediaType == "application/problem+json" && JsonObject(body) is { } problem
                    && problem.TryGetProperty("status", out _) && problem.TryGetProperty("title", out _)
                    ? null : $"expected ProblemDetails, got {mediaType}: {Cut(body)}";
            default:
                return mediaType == "application/json" && JsonObject(body) is { } error
                    && error.TryGetProperty("error", out var code) && code.ValueKind == JsonValueKind.String
                    && error.TryGetProperty("error_description", out _)
                    ? null : $"expected {{\"error\",\"error_description\"}}, got {mediaType}: {Cut(body)}";
        }
    }

    /// <summary>Asserts that <paramref name="response"/> is a well-formed error of the family its path belongs to.</summary>
    public static async Task ShouldBeErrorOfItsFamilyAsync(HttpResponseMessage response, string path)
    {
        var body = await response.Content.ReadAsStringAsync();
        Problem(Of(path), response.Content.Headers.ContentType?.MediaType, body).Should().BeNull($"{response.RequestMessage?.Method} {path} answered {(int)response.StatusCode}");
    }

    private static JsonElement? JsonObject(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Cut(string body) => body.Length > 200 ? body[..200] : body;
}
