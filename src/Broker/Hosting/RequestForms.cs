using System.Text;
using Microsoft.Extensions.Primitives;

namespace Broker.Hosting;

/// <summary>Reads request forms and queries without letting malformed input become a 500.</summary>
public static class RequestForms
{
    /// <summary>Whether the body is declared <c>application/x-www-form-urlencoded</c>.</summary>
    public static bool IsUrlEncodedForm(HttpRequest request) =>
        request.ContentType is { } contentType
        && contentType.Split(';')[0].Trim().Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The form, or null when the body is not a well-formed form (bad framing, charset, size).</summary>
    public static async Task<IFormCollection?> TryReadFormAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
        {
            return null;
        }
        try
        {
            return await request.ReadFormAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is InvalidDataException or BadHttpRequestException or IOException
            or InvalidOperationException or DecoderFallbackException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>A single-valued parameter: its value, or null when absent.</summary>
    public static string? SingleValue(StringValues values) => values.Count == 0 ? null : values[0];

    /// <summary>The names, among <paramref name="names"/>, that appear more than once.</summary>
    public static IReadOnlyList<string> Repeated(IEnumerable<KeyValuePair<string, StringValues>> parameters, params string[] names) =>
        parameters.Where(pair => pair.Value.Count > 1 && names.Contains(pair.Key, StringComparer.Ordinal))
            .Select(pair => pair.Key)
            .ToList();
}
