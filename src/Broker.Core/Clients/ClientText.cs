namespace Broker.Core.Clients;

/// <summary>Bounds and character rules for client-supplied names and descriptions.</summary>
public static class ClientText
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;

    public static readonly ValidationRule NameRule = new("name", "Unsplash API: POST /clients (name)",
        $"a non-blank name of at most {MaxNameLength} characters without control characters");
    public static readonly ValidationRule DescriptionRule = new("description", "Unsplash API: POST /clients (description)",
        $"at most {MaxDescriptionLength} characters; line breaks and tabs are fine, other control characters are not");

    /// <summary>Every refusal of an installation's name and description (POST /clients), name first.</summary>
    public static IReadOnlyList<Refusal> ChildRefusals(string? name, string? description)
    {
        var refusals = new List<Refusal>();
        if (NameProblem(name) is { } nameProblem)
        {
            refusals.Add(NameRule.Refuse(Refusal.FieldPath("name"), nameProblem));
        }
        if (DescriptionProblem(description) is { } descriptionProblem)
        {
            refusals.Add(DescriptionRule.Refuse(Refusal.FieldPath("description"), descriptionProblem));
        }
        return refusals;
    }

    /// <summary>Why <paramref name="name"/> is not an acceptable client name, or null when it is.</summary>
    public static string? NameProblem(string? name, string field = "name")
    {
        // Reject a missing or blank name: the site owner must recognise the installation by it.
        if (string.IsNullOrWhiteSpace(name))
        {
            return $"{field} is required";
        }
        // Reject over-long names: they are shown on pages and in lists.
        if (name.Length > MaxNameLength)
        {
            return $"{field} must be at most {MaxNameLength} characters";
        }
        return ControlCharacterProblem(name, field);
    }

    /// <summary>Why <paramref name="description"/> is not acceptable, or null when it is (absent is fine).</summary>
    public static string? DescriptionProblem(string? description, string field = "description")
    {
        if (description is null)
        {
            return null;
        }
        // Reject over-long descriptions.
        if (description.Length > MaxDescriptionLength)
        {
            return $"{field} must be at most {MaxDescriptionLength} characters";
        }
        return ControlCharacterProblem(description, field, allowLineBreaks: true);
    }

    // Reject control characters (and lone surrogates): they can hide text or break logs and pages.
    private static string? ControlCharacterProblem(string text, string field, bool allowLineBreaks = false)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (allowLineBreaks && c is '\n' or '\r' or '\t')
            {
                continue;
            }
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                return $"{field} must not contain control characters";
            }
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[++i])))
            {
                return $"{field} must be valid Unicode text";
            }
        }
        return null;
    }
}
