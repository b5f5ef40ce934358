using System.Text.Json;

namespace Broker.Core;

/// <summary>Strings read from request JSON, for every endpoint that takes JSON bodies.</summary>
public static class JsonText
{
    /// <summary>
    /// A string or JSON null (<paramref name="text"/> null); false for any other kind, and for a string
    /// that is not valid Unicode (a lone surrogate escape cannot be transcoded).
    /// </summary>
    public static bool TryGetString(JsonElement element, out string? text)
    {
        text = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }
        try
        {
            text = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
