using System.Text.Json;

namespace Broker.Core;

/// <summary>Strings, lists of strings and whole numbers read from request JSON, for every endpoint that takes JSON bodies.</summary>
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

    /// <summary>
    /// An array of strings, each valid Unicode, or JSON null (<paramref name="strings"/> null); false for
    /// any other kind, and for an array holding anything but such strings.
    /// </summary>
    public static bool TryGetStrings(JsonElement element, out IReadOnlyList<string>? strings)
    {
        strings = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.Array)
        {
            return false;
        }
        var items = new List<string>(element.GetArrayLength());
        foreach (var item in element.EnumerateArray())
        {
            if (!TryGetString(item, out var text) || text is null)
            {
                return false;
            }
            items.Add(text);
        }
        strings = items;
        return true;
    }

    /// <summary>A whole number in the <see cref="int"/> range, or JSON null (<paramref name="number"/> null); false for anything else.</summary>
    public static bool TryGetWholeNumber(JsonElement element, out int? number)
    {
        number = null;
        if (element.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out var parsed))
        {
            return false;
        }
        number = parsed;
        return true;
    }
}
