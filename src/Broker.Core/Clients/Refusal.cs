using Broker.Core.Authorization;

namespace Broker.Core.Clients;

/// <summary>
/// A validation rule as a developer reads it in a dry-run: its name, where it comes from (an RFC or
/// seed section) and how to satisfy it. The rule's home still decides; this only names it.
/// </summary>
public sealed record ValidationRule(string Id, string Reference, string Hint, string Error = OAuthErrors.InvalidClientMetadata)
{
    /// <summary>This rule refused the value at <paramref name="field"/> (a JSON pointer, RFC 6901).</summary>
    public Refusal Refuse(string field, string description) => new(field, this, new OAuthError(Error, description));
}

/// <summary>
/// One reason a document is refused. A real write answers with the first refusal's error; a dry-run
/// lists them all. Both come from the same checks, so they cannot disagree.
/// </summary>
public sealed record Refusal(string Field, ValidationRule Rule, OAuthError Error)
{
    /// <summary>The JSON pointer (RFC 6901) of a top-level field, or of an item of an array field.</summary>
    public static string FieldPath(string name, int? index = null) =>
        "/" + name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)
            + (index is { } i ? "/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) : "");
}
