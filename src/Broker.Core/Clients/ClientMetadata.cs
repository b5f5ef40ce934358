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

/// <summary>The metadata as it would be stored (when nothing is refused), and every refusal in rule order.</summary>
public sealed record MetadataCheck(ClientMetadata? Metadata, IReadOnlyList<Refusal> Refusals)
{
    /// <summary>What a real write answers: the metadata, or the first refusal's error.</summary>
    public MetadataValidation AsValidation() => new(Metadata, Refusals.Count == 0 ? null : Refusals[0].Error);
}

/// <summary>
/// The Okta seed's validation table and RFC 7591 §2 rules, in one place for every registration
/// path. Unknown fields are ignored; fields only the server sets are never taken from the caller.
/// Every rule runs and every refusal is kept (a dry-run shows them all); a real write answers the
/// first, so the order of the rules below is the order in which a developer meets them.
/// </summary>
public static class ClientMetadataRules
{
    public const int MaxContacts = 20;
    public const int MaxContactLength = 254;

    public static readonly ValidationRule BodyIsObject = new("body_is_object", "RFC 7591 §2",
        "send one JSON object of client metadata, such as {\"client_name\": \"My app\", \"redirect_uris\": [\"https://app.example/cb\"]}");
    public static readonly ValidationRule FieldOnce = new("field_once", "RFC 8259 §4",
        "give each field once");
    public static readonly ValidationRule FullReplace = new("full_replace", "Okta client API: PUT replaces the whole client",
        "GET the client, change what you need and PUT the whole document back");
    public static readonly ValidationRule FieldType = new("field_type", "RFC 7591 §2",
        "strings are JSON strings of valid Unicode text; lists are JSON arrays of such strings (at most 100)");
    public static readonly ValidationRule ClientName = new("client_name", "RFC 7591 §2; Okta client model (client_name)",
        $"a non-blank name of at most {ClientText.MaxNameLength} characters without control characters");
    public static readonly ValidationRule ApplicationType = new("application_type", "Okta client model (application_type)",
        "one of web, native, browser or service (default web)");
    public static readonly ValidationRule AuthMethod = new("token_endpoint_auth_method", "RFC 7591 §2; Okta client model",
        "none for public clients, client_secret_post or (management API only) client_secret_basic; private_key_jwt and client_secret_jwt are not offered");
    public static readonly ValidationRule RetiredGrant = new("grant_retired", "RFC 9700 §2.1.2, §2.4",
        "use authorization_code with PKCE instead of implicit, and instead of password");
    public static readonly ValidationRule GrantForType = new("grant_for_application_type", "Okta client model (grant_types by application_type)",
        "web: authorization_code, refresh_token, client_credentials; native and browser: authorization_code, refresh_token; service: client_credentials");
    public static readonly ValidationRule CodeGrantRequired = new("authorization_code_required", "Okta client model (grant_types by application_type)",
        "web and native clients must include authorization_code in grant_types");
    public static readonly ValidationRule SecretForGrant = new("client_credentials_needs_secret", "RFC 6749 §4.4, §2.3.1",
        "drop client_credentials or use token_endpoint_auth_method client_secret_post");
    public static readonly ValidationRule KnownResponseType = new("response_type_known", "RFC 7591 §2; RFC 9700 §2.1.2",
        "code (and id_token); token-bearing response types belong to the retired implicit flow");
    public static readonly ValidationRule ResponseMatchesGrant = new("response_types_match_grant_types", "RFC 7591 §2.1",
        "list code in response_types exactly when grant_types lists authorization_code");
    public static readonly ValidationRule RedirectRequired = new("redirect_uris_required", "RFC 7591 §2; Auth0 dynamic registration",
        "list at least one redirect URI, such as https://app.example/callback", OAuthErrors.InvalidRedirectUri);
    public static readonly ValidationRule RedirectUri = new("redirect_uri", "RFC 6749 §3.1.2; RFC 8252 §7.3; RFC 9700 §4.1",
        $"absolute https URIs (http only on loopback for native clients), no fragment, user-info, wildcard, code or state parameter; at most {Clients.RedirectUris.MaxCount}",
        OAuthErrors.InvalidRedirectUri);
    public static readonly ValidationRule PostLogoutRedirectUri = new("post_logout_redirect_uri", "OpenID Connect RP-Initiated Logout §3.1",
        $"the same rules as redirect_uris: absolute https URIs, at most {Clients.RedirectUris.MaxCount}");
    public static readonly ValidationRule InformationUri = new("information_uri", "RFC 7591 §2, §5",
        "an absolute https URI on a public host (not localhost, loopback, private or link-local)");
    public static readonly ValidationRule Contacts = new("contacts", "RFC 7591 §2",
        $"at most {MaxContacts} addresses of 1 to {MaxContactLength} characters without control characters");

    // Judged by the store (a unique index) when the client is written, and asked of it by a dry-run.
    public static readonly ValidationRule UniqueName = new("client_name_unique", "Okta client model (client_name is unique)",
        "choose a client_name no other client uses");

    /// <summary>The refusal of a name another client holds, as the real write and a dry-run both word it.</summary>
    public static Refusal NameInUse(string name) => UniqueName.Refuse(Refusal.FieldPath("client_name"), $"client_name '{name}' is already in use");

    /// <summary>Every rule of this validator, in the order it applies them.</summary>
    public static readonly IReadOnlyList<ValidationRule> Rules =
    [
        BodyIsObject, FieldOnce, FullReplace, FieldType, ClientName, ApplicationType, AuthMethod, RetiredGrant, GrantForType,
        CodeGrantRequired, SecretForGrant, KnownResponseType, ResponseMatchesGrant, RedirectRequired, RedirectUri,
        PostLogoutRedirectUri, InformationUri, Contacts, UniqueName,
    ];

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

    /// <summary>The metadata, or the first refusal: what every real registration and replace answers.</summary>
    public static MetadataValidation Validate(JsonElement document, MetadataContract contract) => Check(document, contract).AsValidation();

    /// <summary>Runs every rule; a value a rule refuses is replaced by its default so the rules after it still run.</summary>
    public static MetadataCheck Check(JsonElement document, MetadataContract contract)
    {
        var refusals = new List<Refusal>();
        // Reject anything but a JSON object: no field can be judged.
        if (document.ValueKind != JsonValueKind.Object)
        {
            return new MetadataCheck(null, [BodyIsObject.Refuse("", "the body must be a JSON object of client metadata")]);
        }
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in document.EnumerateObject())
        {
            // Reject a field given twice: which one was meant is unknowable.
            if (!fields.TryAdd(property.Name, property.Value))
            {
                refusals.Add(FieldOnce.Refuse(Refusal.FieldPath(property.Name), $"{property.Name} must appear once"));
            }
        }
        // The server-set fields of a replace are judged against the stored client by ServerControlledFields.
        if (contract == MetadataContract.OktaReplace)
        {
            // Reject a partial replace: every setting must be given.
            foreach (var missing in SettingsRequiredOnReplace.Where(name => !fields.ContainsKey(name)))
            {
                refusals.Add(FullReplace.Refuse(Refusal.FieldPath(missing), $"{missing} is required: partial updates are not supported"));
            }
        }

        var name = Text(fields, "client_name", refusals);
        var nameProblem = ClientText.NameProblem(name, "client_name");
        // A name of the wrong type was refused already; "required" would only repeat it.
        if (nameProblem is not null && !Refused(refusals, "client_name"))
        {
            refusals.Add(ClientName.Refuse(Refusal.FieldPath("client_name"), nameProblem));
        }

        var applicationType = Text(fields, "application_type", refusals) ?? ApplicationTypes.Web;
        // Reject unknown application types; the rules that depend on the type are then left out.
        if (!GrantsByType.TryGetValue(applicationType, out var allowedGrants))
        {
            refusals.Add(ApplicationType.Refuse(Refusal.FieldPath("application_type"), "application_type must be one of web, native, browser or service"));
        }
        var defaultAuthMethod = contract == MetadataContract.OpenRegistration
            ? ClientAuthMethod.ClientSecretPost
            : applicationType is ApplicationTypes.Browser or ApplicationTypes.Native ? ClientAuthMethod.None : ClientAuthMethod.ClientSecretBasic;
        var authMethod = Text(fields, "token_endpoint_auth_method", refusals) ?? defaultAuthMethod;
        string[] allowedMethods = contract == MetadataContract.OpenRegistration
            ? [ClientAuthMethod.None, ClientAuthMethod.ClientSecretPost]
            : [ClientAuthMethod.None, ClientAuthMethod.ClientSecretPost, ClientAuthMethod.ClientSecretBasic];
        // Reject auth methods we do not implement (client_secret_jwt, private_key_jwt) or the contract excludes.
        if (!allowedMethods.Contains(authMethod))
        {
            refusals.Add(AuthMethod.Refuse(Refusal.FieldPath("token_endpoint_auth_method"),
                $"token_endpoint_auth_method must be one of {string.Join(", ", allowedMethods)}"));
        }

        var grantTypes = List(fields, "grant_types", refusals) ?? (applicationType == ApplicationTypes.Service
            ? [GrantType.ClientCredentials]
            : [GrantType.AuthorizationCode]);
        // Reject the grants RFC 9700 retires, naming the field.
        for (var i = 0; i < grantTypes.Count; i++)
        {
            if (grantTypes[i] is "password" or "implicit")
            {
                refusals.Add(RetiredGrant.Refuse(Refusal.FieldPath("grant_types", i), $"grant_types: the {grantTypes[i]} grant is not supported (RFC 9700)"));
            }
        }
        if (allowedGrants is not null)
        {
            // Reject grants the application type may not use (Okta's table); retired ones are refused above.
            for (var i = 0; i < grantTypes.Count; i++)
            {
                if (!allowedGrants.Contains(grantTypes[i]) && grantTypes[i] is not ("password" or "implicit"))
                {
                    refusals.Add(GrantForType.Refuse(Refusal.FieldPath("grant_types", i),
                        $"grant_types: {grantTypes[i]} is not valid for application_type {applicationType}"));
                }
            }
            // Reject web and native clients without the authorization code grant (Okta's table).
            if (applicationType is ApplicationTypes.Web or ApplicationTypes.Native && !grantTypes.Contains(GrantType.AuthorizationCode))
            {
                refusals.Add(CodeGrantRequired.Refuse(Refusal.FieldPath("grant_types"),
                    $"grant_types must include authorization_code for application_type {applicationType}"));
            }
        }
        // Reject grants that need a secret on a client without one.
        if (authMethod == ClientAuthMethod.None && grantTypes.Contains(GrantType.ClientCredentials))
        {
            refusals.Add(SecretForGrant.Refuse(Refusal.FieldPath("grant_types"),
                "grant_types: client_credentials needs a client secret; token_endpoint_auth_method none has none"));
        }
        var redirectFlowless = grantTypes.All(grant => grant == GrantType.ClientCredentials);

        var responseTypes = List(fields, "response_types", refusals) ?? (redirectFlowless ? [] : ["code"]);
        // Reject response types that imply the implicit flow (RFC 9700), and unknown ones.
        for (var i = 0; i < responseTypes.Count; i++)
        {
            var type = responseTypes[i];
            if (!KnownResponseTypes.Contains(type))
            {
                refusals.Add(KnownResponseType.Refuse(Refusal.FieldPath("response_types", i),
                    type.Contains("token", StringComparison.Ordinal) && type != "id_token"
                        ? $"response_types: {type} is not supported (no implicit flow, RFC 9700)"
                        : $"response_types: unknown response type {type}"));
            }
        }
        // Reject grant and response types that contradict each other (RFC 7591 §2.1).
        if (grantTypes.Contains(GrantType.AuthorizationCode) != responseTypes.Contains("code"))
        {
            refusals.Add(ResponseMatchesGrant.Refuse(Refusal.FieldPath("response_types"),
                "response_types must include code exactly when grant_types includes authorization_code"));
        }

        var native = applicationType == ApplicationTypes.Native;
        var redirectUris = List(fields, "redirect_uris", refusals);
        // Reject a redirect-based client without redirect URIs (client_credentials-only clients need none,
        // except under open registration, where Auth0 requires them of every client).
        if (redirectUris is null && !Refused(refusals, "redirect_uris") || redirectUris is { Count: 0 })
        {
            if (!redirectFlowless || contract == MetadataContract.OpenRegistration)
            {
                refusals.Add(RedirectRequired.Refuse(Refusal.FieldPath("redirect_uris"), "redirect_uris must list at least one URI"));
            }
        }
        redirectUris ??= [];
        UriListRefusals(redirectUris, "redirect_uris", native, RedirectUri, refusals);
        var postLogout = List(fields, "post_logout_redirect_uris", refusals) ?? [];
        UriListRefusals(postLogout, "post_logout_redirect_uris", native, PostLogoutRedirectUri, refusals);

        var informationUris = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var field in InformationUriFields)
        {
            var uri = Text(fields, field, refusals);
            var problem = uri is null ? null : InformationUriProblem(field, uri);
            if (problem is not null)
            {
                refusals.Add(InformationUri.Refuse(Refusal.FieldPath(field), problem));
            }
            informationUris[field] = uri;
        }

        var contacts = List(fields, "contacts", refusals) ?? [];
        // Reject too many contacts, and contacts that are not short single-line text.
        var contactsProblem = $"contacts must be at most {MaxContacts} addresses of 1 to {MaxContactLength} characters";
        if (contacts.Count > MaxContacts)
        {
            refusals.Add(Contacts.Refuse(Refusal.FieldPath("contacts"), contactsProblem));
        }
        for (var i = 0; i < contacts.Count; i++)
        {
            if (contacts[i].Length is 0 or > MaxContactLength || contacts[i].Any(char.IsControl))
            {
                refusals.Add(Contacts.Refuse(Refusal.FieldPath("contacts", i), contactsProblem));
            }
        }

        if (refusals.Count > 0)
        {
            return new MetadataCheck(null, refusals);
        }
        return new MetadataCheck(new ClientMetadata
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
        }, []);
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

    // Reject too many URIs, then each URI the redirect rules refuse, by its index.
    private static void UriListRefusals(IReadOnlyList<string> uris, string field, bool native, ValidationRule rule, List<Refusal> refusals)
    {
        if (uris.Count > Clients.RedirectUris.MaxCount)
        {
            refusals.Add(rule.Refuse(Refusal.FieldPath(field), $"{field}: at most {Clients.RedirectUris.MaxCount} URIs"));
        }
        for (var i = 0; i < uris.Count; i++)
        {
            var problem = Clients.RedirectUris.RegistrationProblem(uris[i], native);
            if (problem is not null)
            {
                refusals.Add(rule.Refuse(Refusal.FieldPath(field, i), $"{field}: {problem}"));
            }
        }
    }

    private static bool Refused(List<Refusal> refusals, string field) =>
        refusals.Exists(refusal => refusal.Field == Refusal.FieldPath(field));

    // A string field: absent or null → null; anything but a (valid) string → refused, and null.
    private static string? Text(Dictionary<string, JsonElement> fields, string name, List<Refusal> refusals)
    {
        if (!fields.TryGetValue(name, out var value))
        {
            return null;
        }
        if (!JsonText.TryGetString(value, out var text))
        {
            refusals.Add(FieldType.Refuse(Refusal.FieldPath(name), $"{name} must be a string of valid Unicode text"));
        }
        return text;
    }

    // An array of strings: absent or null → null (the default applies); duplicates folded, order kept.
    // Anything else is refused, and null.
    private static IReadOnlyList<string>? List(Dictionary<string, JsonElement> fields, string name, List<Refusal> refusals)
    {
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() > 100)
        {
            refusals.Add(FieldType.Refuse(Refusal.FieldPath(name), $"{name} must be an array of strings"));
            return null;
        }
        if (!JsonText.TryGetStrings(value, out var items))
        {
            refusals.Add(FieldType.Refuse(Refusal.FieldPath(name), $"{name} must be an array of strings of valid Unicode text"));
            return null;
        }
        return items!.Distinct(StringComparer.Ordinal).ToList();
    }
}
