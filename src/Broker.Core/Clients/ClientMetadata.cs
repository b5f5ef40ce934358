using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Core.Authorization;

namespace Broker.Core.Clients;

/// <summary>RFC 7591 client metadata as a caller may set it (Okta seed's table plus RFC 7591's own).</summary>
public sealed record ClientMetadata
{
    // In the order of the Okta seed's client model: documents list the fields as declared here.
    public required string ClientName { get; init; }
    public string? ClientUri { get; init; }
    public string? LogoUri { get; init; }
    public string ApplicationType { get; init; } = ApplicationTypes.Web;
    public IReadOnlyList<string> RedirectUris { get; init; } = [];
    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];
    public IReadOnlyList<string> ResponseTypes { get; init; } = ["code"];
    public IReadOnlyList<string> GrantTypes { get; init; } = [GrantType.AuthorizationCode];
    public string TokenEndpointAuthMethod { get; init; } = ClientAuthMethod.ClientSecretBasic;
    public string? InitiateLoginUri { get; init; }
    public string? TosUri { get; init; }
    public string? PolicyUri { get; init; }
    public IReadOnlyList<string> Contacts { get; init; } = [];

    [JsonIgnore]
    public bool UsesSecret => TokenEndpointAuthMethod != ClientAuthMethod.None;
}

public static class ApplicationTypes
{
    public const string Web = "web";
    public const string Native = "native";
    public const string Browser = "browser";
    public const string Service = "service";
}

/// <summary>Which contract a metadata document arrives under; defaults and read-only fields differ.</summary>
public enum MetadataContract
{
    /// <summary>Okta <c>POST /oauth2/v1/clients</c>: defaults from the Okta table (auth method client_secret_basic).</summary>
    OktaCreate,

    /// <summary>Okta full-replace <c>PUT</c>: every setting required (server-set fields: <see cref="ServerControlledFields"/>).</summary>
    OktaReplace,

    /// <summary>Auth0 <c>POST /oidc/register</c> and RFC 7592 <c>PUT</c>: name and redirect URIs required; none or client_secret_post.</summary>
    OpenRegistration,
}

/// <summary>The validated metadata, or the RFC 7591 error naming the field.</summary>
public sealed record MetadataValidation(ClientMetadata? Metadata, OAuthError? Error);

/// <summary>
/// The Okta seed's validation table and RFC 7591 §2 rules, in one place for every registration
/// path. Unknown fields are ignored; fields only the server sets are never taken from the caller.
/// </summary>
public static class ClientMetadataRules
{
    public const int MaxContacts = 20;
    public const int MaxContactLength = 254;

    private static readonly string[] SettingsRequiredOnReplace =
    [
        "client_name", "application_type", "redirect_uris", "response_types", "grant_types", "token_endpoint_auth_method",
    ];

    // Grants each application type may use (Okta table), less implicit and password, which RFC 9700 retires.
    private static readonly Dictionary<string, string[]> GrantsByType = new(StringComparer.Ordinal)
    {
        [ApplicationTypes.Web] = [GrantType.AuthorizationCode, GrantType.RefreshToken, GrantType.ClientCredentials],
        [ApplicationTypes.Native] = [GrantType.AuthorizationCode, GrantType.RefreshToken],
        [ApplicationTypes.Browser] = [GrantType.AuthorizationCode, GrantType.RefreshToken],
        [ApplicationTypes.Service] = [GrantType.ClientCredentials],
    };

    private static readonly string[] KnownResponseTypes = ["code", "id_token"];

    private static readonly string[] InformationUriFields = ["client_uri", "logo_uri", "tos_uri", "policy_uri", "initiate_login_uri"];

    public static MetadataValidation Validate(JsonElement document, MetadataContract contract)
    {
        // Reject anything but a JSON object.
        if (document.ValueKind != JsonValueKind.Object)
        {
            return Fail("the body must be a JSON object of client metadata");
        }
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in document.EnumerateObject())
        {
            // Reject a field given twice: which one was meant is unknowable.
            if (!fields.TryAdd(property.Name, property.Value))
            {
                return Fail($"{property.Name} must appear once");
            }
        }
        // The server-set fields of a replace are judged against the stored client by ServerControlledFields.
        if (contract == MetadataContract.OktaReplace)
        {
            // Reject a partial replace: every setting must be given.
            var missing = SettingsRequiredOnReplace.FirstOrDefault(name => !fields.ContainsKey(name));
            if (missing is not null)
            {
                return Fail($"{missing} is required: partial updates are not supported");
            }
        }

        var name = Text(fields, "client_name", out var error);
        if (error is not null)
        {
            return Fail(error);
        }
        var nameProblem = ClientText.NameProblem(name, "client_name");
        if (nameProblem is not null)
        {
            return Fail(nameProblem);
        }

        var applicationType = Text(fields, "application_type", out error) ?? ApplicationTypes.Web;
        if (error is not null)
        {
            return Fail(error);
        }
        // Reject unknown application types.
        if (!GrantsByType.TryGetValue(applicationType, out var allowedGrants))
        {
            return Fail("application_type must be one of web, native, browser or service");
        }
        var defaultAuthMethod = contract == MetadataContract.OpenRegistration
            ? ClientAuthMethod.ClientSecretPost
            : applicationType is ApplicationTypes.Browser or ApplicationTypes.Native ? ClientAuthMethod.None : ClientAuthMethod.ClientSecretBasic;
        var authMethod = Text(fields, "token_endpoint_auth_method", out error) ?? defaultAuthMethod;
        if (error is not null)
        {
            return Fail(error);
        }
        string[] allowedMethods = contract == MetadataContract.OpenRegistration
            ? [ClientAuthMethod.None, ClientAuthMethod.ClientSecretPost]
            : [ClientAuthMethod.None, ClientAuthMethod.ClientSecretPost, ClientAuthMethod.ClientSecretBasic];
        // Reject auth methods we do not implement (client_secret_jwt, private_key_jwt) or the contract excludes.
        if (!allowedMethods.Contains(authMethod))
        {
            return Fail($"token_endpoint_auth_method must be one of {string.Join(", ", allowedMethods)}");
        }

        var grantTypes = List(fields, "grant_types", out error) ?? (applicationType == ApplicationTypes.Service
            ? [GrantType.ClientCredentials]
            : [GrantType.AuthorizationCode]);
        if (error is not null)
        {
            return Fail(error);
        }
        // Reject the grants RFC 9700 retires, naming the field.
        var retired = grantTypes.FirstOrDefault(grant => grant is "password" or "implicit");
        if (retired is not null)
        {
            return Fail($"grant_types: the {retired} grant is not supported (RFC 9700)");
        }
        // Reject grants the application type may not use (Okta's table).
        var notAllowed = grantTypes.FirstOrDefault(grant => !allowedGrants.Contains(grant));
        if (notAllowed is not null)
        {
            return Fail($"grant_types: {notAllowed} is not valid for application_type {applicationType}");
        }
        // Reject web and native clients without the authorization code grant (Okta's table).
        if (applicationType is ApplicationTypes.Web or ApplicationTypes.Native && !grantTypes.Contains(GrantType.AuthorizationCode))
        {
            return Fail($"grant_types must include authorization_code for application_type {applicationType}");
        }
        // Reject grants that need a secret on a client without one.
        if (authMethod == ClientAuthMethod.None && grantTypes.Contains(GrantType.ClientCredentials))
        {
            return Fail("grant_types: client_credentials needs a client secret; token_endpoint_auth_method none has none");
        }
        var redirectFlowless = grantTypes.All(grant => grant == GrantType.ClientCredentials);

        var responseTypes = List(fields, "response_types", out error) ?? (redirectFlowless ? [] : ["code"]);
        if (error is not null)
        {
            return Fail(error);
        }
        // Reject response types that imply the implicit flow (RFC 9700), and unknown ones.
        var badResponseType = responseTypes.FirstOrDefault(type => !KnownResponseTypes.Contains(type));
        if (badResponseType is not null)
        {
            return Fail(badResponseType.Contains("token", StringComparison.Ordinal) && badResponseType != "id_token"
                ? $"response_types: {badResponseType} is not supported (no implicit flow, RFC 9700)"
                : $"response_types: unknown response type {badResponseType}");
        }
        // Reject grant and response types that contradict each other (RFC 7591 §2.1).
        if (grantTypes.Contains(GrantType.AuthorizationCode) != responseTypes.Contains("code"))
        {
            return Fail("response_types must include code exactly when grant_types includes authorization_code");
        }

        var native = applicationType == ApplicationTypes.Native;
        var redirectUris = List(fields, "redirect_uris", out error) ?? [];
        if (error is not null)
        {
            return Fail(error);
        }
        // Reject a redirect-based client without redirect URIs (client_credentials-only clients need none,
        // except under open registration, where Auth0 requires them of every client).
        if ((!redirectFlowless || contract == MetadataContract.OpenRegistration) && redirectUris.Count == 0)
        {
            return Fail("redirect_uris must list at least one URI", OAuthErrors.InvalidRedirectUri);
        }
        var redirectProblem = UriListProblem(redirectUris, "redirect_uris", native);
        if (redirectProblem is not null)
        {
            return Fail(redirectProblem, OAuthErrors.InvalidRedirectUri);
        }
        var postLogout = List(fields, "post_logout_redirect_uris", out error) ?? [];
        if (error is not null)
        {
            return Fail(error);
        }
        var postLogoutProblem = UriListProblem(postLogout, "post_logout_redirect_uris", native);
        if (postLogoutProblem is not null)
        {
            return Fail(postLogoutProblem);
        }

        var informationUris = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var field in InformationUriFields)
        {
            var uri = Text(fields, field, out error);
            if (error is not null)
            {
                return Fail(error);
            }
            var problem = uri is null ? null : InformationUriProblem(field, uri);
            if (problem is not null)
            {
                return Fail(problem);
            }
            informationUris[field] = uri;
        }

        var contacts = List(fields, "contacts", out error) ?? [];
        if (error is not null)
        {
            return Fail(error);
        }
        // Reject too many contacts, and contacts that are not short single-line text.
        if (contacts.Count > MaxContacts || contacts.Any(c => c.Length is 0 or > MaxContactLength || c.Any(char.IsControl)))
        {
            return Fail($"contacts must be at most {MaxContacts} addresses of 1 to {MaxContactLength} characters");
        }

        return new MetadataValidation(new ClientMetadata
        {
            ClientName = name!.Trim(),
            ApplicationType = applicationType,
            RedirectUris = redirectUris,
            PostLogoutRedirectUris = postLogout,
            ResponseTypes = responseTypes,
            GrantTypes = grantTypes,
            TokenEndpointAuthMethod = authMethod,
            ClientUri = informationUris["client_uri"],
            LogoUri = informationUris["logo_uri"],
            TosUri = informationUris["tos_uri"],
            PolicyUri = informationUris["policy_uri"],
            InitiateLoginUri = informationUris["initiate_login_uri"],
            Contacts = contacts,
        }, null);
    }

    /// <summary>
    /// Why an informational URI (logo, home page, terms, policy, login) is refused, or null. It must be
    /// https and must not point at this machine's or a private network (the server never fetches it,
    /// but a consent page or an admin's browser might).
    /// </summary>
    public static string? InformationUriProblem(string field, string uri)
    {
        if (uri.Length > Clients.RedirectUris.MaxLength || uri.Any(c => c <= ' ' || c > '~'))
        {
            return $"{field} must be printable ASCII of at most {Clients.RedirectUris.MaxLength} characters";
        }
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps
            || !uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(parsed.Host))
        {
            return $"{field} must be an absolute https URI";
        }
        if (!string.IsNullOrEmpty(parsed.UserInfo) || uri.Contains('#'))
        {
            return $"{field} must not contain user-info or a fragment";
        }
        // Reject a host that is internal however it is spelled: judged as written, normalised once.
        var host = InternetHost.FromUri(uri);
        if (host is null)
        {
            return $"{field} must name a valid host";
        }
        if (host.IsInternal)
        {
            return $"{field} must not point at localhost or a loopback, private or link-local address";
        }
        return null;
    }

    private static string? UriListProblem(IReadOnlyList<string> uris, string field, bool native)
    {
        if (uris.Count > Clients.RedirectUris.MaxCount)
        {
            return $"{field}: at most {Clients.RedirectUris.MaxCount} URIs";
        }
        foreach (var uri in uris)
        {
            var problem = Clients.RedirectUris.RegistrationProblem(uri, native);
            if (problem is not null)
            {
                return $"{field}: {problem}";
            }
        }
        return null;
    }

    private static MetadataValidation Fail(string description, string error = OAuthErrors.InvalidClientMetadata) =>
        new(null, new OAuthError(error, description));

    // A string field: absent or null → null; anything but a (valid) string → an error naming it.
    private static string? Text(Dictionary<string, JsonElement> fields, string name, out string? error)
    {
        error = null;
        if (!fields.TryGetValue(name, out var value))
        {
            return null;
        }
        if (!JsonText.TryGetString(value, out var text))
        {
            error = $"{name} must be a string of valid Unicode text";
        }
        return text;
    }

    // An array of strings: absent or null → null (the default applies); duplicates folded, order kept.
    private static IReadOnlyList<string>? List(Dictionary<string, JsonElement> fields, string name, out string? error)
    {
        error = null;
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 100)
        {
            error = $"{name} must be an array of strings";
            return null;
        }
        if (!JsonText.TryGetStrings(value, out var items))
        {
            error = $"{name} must be an array of strings of valid Unicode text";
            return null;
        }
        return items!.Distinct(StringComparer.Ordinal).ToList();
    }
}
