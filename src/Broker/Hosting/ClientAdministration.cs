using Broker.Core.Accounts;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// The platform's operations live here, below the features, because several surfaces drive them: the
/// admin API, the console and the command line each apply the same rules and the same audited write.
/// </summary>
public static class Administration
{
    public static IServiceCollection AddAdministration(this IServiceCollection services)
    {
        services.TryAddSingleton<ClientAdministration>();
        services.TryAddSingleton<PlatformAdministration>();
        return services;
    }
}

/// <summary>Why an administrative operation was refused; the admin API maps each onto its status code.</summary>
public enum AdminFailure
{
    /// <summary>The input breaks a rule (400).</summary>
    Invalid,

    /// <summary>No such client, user or token (404).</summary>
    NotFound,

    /// <summary>The resource changed while we worked on it (409).</summary>
    Conflict,

    /// <summary>The caller's If-Match names a version that is no longer current (412).</summary>
    PreconditionFailed,
}

/// <summary>The outcome of an administrative operation: a value, or a problem in words.</summary>
public sealed record AdminResult<T>(T? Value, string? Problem, AdminFailure Failure = AdminFailure.Invalid)
{
    public static AdminResult<T> Ok(T value) => new(value, null);

    public static AdminResult<T> Fail(string problem, AdminFailure failure = AdminFailure.Invalid) => new(default, problem, failure);
}

/// <summary>A new application and its secret, which is shown once and never stored.</summary>
public sealed record CreatedApplication(Client Client, string ClientSecret);

/// <summary>
/// The platform team's operations on clients and users, shared by the command line and the
/// development seed (and later the admin API), so that each rule is applied in one place.
/// </summary>
public sealed class ClientAdministration(
    IClientStore clients, IUserStore users, IPasswordHasher<User> hasher,
    IOptions<InstallationOptions> installation, TimeProvider time)
{
    /// <summary>Creates a confidential application with a secret.</summary>
    public async Task<AdminResult<CreatedApplication>> CreateApplicationAsync(
        string name, IReadOnlyList<string> redirectUris, CancellationToken cancellationToken = default)
    {
        // Reject a bad name, too many redirect URIs, or any redirect URI breaking the registration rules.
        var problem = ClientText.NameProblem(name, "--name");
        if (problem is not null)
        {
            return AdminResult<CreatedApplication>.Fail(problem);
        }
        if (redirectUris.Count > RedirectUris.MaxCount)
        {
            return AdminResult<CreatedApplication>.Fail($"at most {RedirectUris.MaxCount} redirect URIs");
        }
        problem = redirectUris.Select(uri => RedirectUris.RegistrationProblem(uri)).FirstOrDefault(p => p is not null);
        if (problem is not null)
        {
            return AdminResult<CreatedApplication>.Fail(problem);
        }
        var secret = Secret.NewToken();
        var now = time.GetUtcNow();
        var client = new Client
        {
            ClientId = Secret.NewClientId(now),
            SecretHash = Secret.Hash(secret),
            SecretFingerprint = Secret.Fingerprint(secret),
            Metadata = new ClientMetadata
            {
                ClientName = name.Trim(),
                RedirectUris = redirectUris.Distinct(StringComparer.Ordinal).ToList(),
                TokenEndpointAuthMethod = ClientAuthMethod.ClientSecretPost,
            },
            CreatedAt = now,
        };
        // Client ids are random, so a conflict is the name: unique among applications, as in the Okta model.
        var entry = AuditActor.CommandLine.Entry(AuditActions.ClientCreated, AuditActions.Client(client.ClientId), client.CreatedAt, "application");
        if (!await clients.CreateAsync(client, entry, cancellationToken))
        {
            return AdminResult<CreatedApplication>.Fail($"an application named '{client.Name}' exists; names are unique");
        }
        return AdminResult<CreatedApplication>.Ok(new CreatedApplication(client, secret));
    }

    /// <summary>
    /// Gives an application parent privileges with these settings (null: the documented default), or
    /// replaces an existing parent's settings as a whole. <paramref name="ifMatch"/>, when given, must be
    /// the client's current version.
    /// </summary>
    public Task<AdminResult<Client>> EnableParentAsync(
        string clientId, RedirectPolicy policy, string? callbackPath, int? childRateLimit, IReadOnlyList<string> endpoints,
        AuditActor? actor = null, long? ifMatch = null, CancellationToken cancellationToken = default) =>
        ChangeParentAsync(clientId, new ParentSettingsChange
        {
            RedirectPolicy = Setting.To<RedirectPolicy?>(policy),
            CallbackPath = Setting.To(callbackPath),
            ChildRateLimit = Setting.To(childRateLimit),
            ChildEndpoints = Setting.To<IReadOnlyList<string>?>(endpoints.Count > 0 ? endpoints : null),
        }, ParentUpdate.Replace, actor, ifMatch, cancellationToken);

    /// <summary>
    /// The one rule for a parent's settings: the settings <paramref name="change"/> names take their new
    /// value (null: the documented default), the others keep theirs (an application becoming a parent
    /// starts from the defaults). <paramref name="update"/> says whether the client becomes an active
    /// parent and whether every setting must be named; see DESIGN.md (Platform API decisions).
    /// </summary>
    public async Task<AdminResult<Client>> ChangeParentAsync(
        string clientId, ParentSettingsChange change, ParentUpdate update,
        AuditActor? actor = null, long? ifMatch = null, CancellationToken cancellationToken = default)
    {
        var client = Secret.IsWellFormedClientId(clientId) ? await clients.FindAsync(clientId, cancellationToken) : null;
        // Reject unknown clients; and a merge on anything but a parent, which has no settings to keep.
        if (client is null || (update == ParentUpdate.Merge && client.Role is not ParentRole))
        {
            return AdminResult<Client>.Fail(update == ParentUpdate.Merge
                ? $"no parent with client_id '{clientId}'; an application becomes a parent with all its settings named (PUT)"
                : $"no application with client_id '{clientId}'", AdminFailure.NotFound);
        }
        // Reject children: a child can never become a parent.
        if (!client.MayBecomeParent)
        {
            return AdminResult<Client>.Fail("an installation's own application cannot become a parent");
        }
        // Reject a replacement that leaves settings out: a setting nobody named would silently reset.
        var leftOut = change.LeftOut();
        if (update == ParentUpdate.Replace && leftOut.Count > 0)
        {
            return AdminResult<Client>.Fail(
                $"a full replacement names every setting; missing: {string.Join(", ", leftOut)} (null for the default, or PATCH to change some)");
        }
        // Reject a merge that names nothing: nothing to do is a caller's mistake worth telling.
        if (update == ParentUpdate.Merge && leftOut.Count == ParentSettingsChange.Names.Count)
        {
            return AdminResult<Client>.Fail($"name at least one of {string.Join(", ", ParentSettingsChange.Names)}");
        }
        // Reject a stale If-Match before any other rule: the caller decided on another version.
        if (ifMatch is not null && ifMatch != client.Version)
        {
            return VersionMoved<Client>(ifMatch);
        }
        var current = client.Role as ParentRole;
        var redirectUris = client.Metadata.RedirectUris;
        var policy = change.RedirectPolicy.Or(current?.RedirectPolicy) ?? RedirectPolicy.Installation;
        var callbackPath = change.CallbackPath.Or(current?.CallbackPath);
        // Under the installation policy, the callback path defaults to that of the first registered redirect URI, as written.
        if (policy == RedirectPolicy.Installation)
        {
            callbackPath ??= redirectUris.Count > 0 ? RedirectUris.RawPath(redirectUris[0]) : null;
            var pathProblem = RedirectUris.CallbackPathProblem(callbackPath);
            if (pathProblem is not null)
            {
                return AdminResult<Client>.Fail(pathProblem);
            }
        }
        else
        {
            // Reject an exact policy without any registered redirect URI: nothing could ever match.
            if (redirectUris.Count == 0)
            {
                return AdminResult<Client>.Fail("the exact redirect policy needs at least one registered redirect URI");
            }
            callbackPath = null;
        }
        // Reject a quota below one request an hour.
        var rateLimit = change.ChildRateLimit.Or(current?.ChildRateLimit) ?? installation.Value.DefaultChildRateLimit;
        if (rateLimit < 1)
        {
            return AdminResult<Client>.Fail("the child rate limit must be at least 1 request per hour");
        }
        // Reject malformed patterns and an empty whitelist (disable the parent to stop its children).
        var normalised = EndpointPattern.TryNormalise(
            change.ChildEndpoints.Or(current?.ChildEndpoints) ?? EndpointPattern.DefaultChildEndpoints, out var endpointProblem);
        if (normalised is null)
        {
            return AdminResult<Client>.Fail(endpointProblem!);
        }
        if (normalised.Count == 0)
        {
            return AdminResult<Client>.Fail("child_endpoints must name at least one endpoint (null for the defaults); disable the parent to stop its children");
        }
        var enables = update != ParentUpdate.Merge && !(current is not null && client.DisabledAt is null);
        var updated = client.AsParent(new ParentRole
        {
            RedirectPolicy = policy,
            CallbackPath = callbackPath,
            ChildRateLimit = rateLimit,
            ChildEndpoints = normalised,
            OwnerUserId = current?.OwnerUserId,
        })! with
        {
            // Enabling a disabled parent again is how it comes back (with children it did not disable); a merge keeps its state.
            DisabledAt = update == ParentUpdate.Merge ? client.DisabledAt : null,
        };
        var details = $"redirect_policy={policy.ToString().ToLowerInvariant()} callback_path={callbackPath} " +
            $"child_rate_limit={rateLimit} child_endpoints={string.Join(", ", normalised)}";
        var audit = (actor ?? AuditActor.CommandLine).Entry(
            enables ? AuditActions.ParentEnabled : AuditActions.ParentChanged, AuditActions.Client(clientId), time.GetUtcNow(), details);
        return await SaveAsync(client, updated, ifMatch, audit, cancellationToken);
    }

    /// <summary>Stores <paramref name="updated"/> if <paramref name="original"/> is still current, with its audit entry.</summary>
    internal async Task<AdminResult<Client>> SaveAsync(
        Client original, Client updated, long? ifMatch, AuditEntry audit, CancellationToken cancellationToken)
    {
        if (await clients.SaveAsync(updated, original.Version, audit, cancellationToken) != WriteOutcome.Done)
        {
            return Moved<Client>(ifMatch);
        }
        return AdminResult<Client>.Ok((await clients.FindAsync(original.ClientId, cancellationToken))!);
    }

    /// <summary>A lost compare-and-set: 412 for a caller who sent If-Match, else 409.</summary>
    internal static AdminResult<T> Moved<T>(long? ifMatch) =>
        ifMatch is not null
            ? VersionMoved<T>(ifMatch)
            : AdminResult<T>.Fail("the client changed while this request ran; read it again and retry", AdminFailure.Conflict);

    internal static AdminResult<T> VersionMoved<T>(long? ifMatch) =>
        AdminResult<T>.Fail($"If-Match names version {ifMatch}, which is no longer current; read the resource again", AdminFailure.PreconditionFailed);

    /// <summary>Creates a site owner's account.</summary>
    public async Task<AdminResult<User>> CreateUserAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        var problem = AccountRules.EmailProblem(email) ?? AccountRules.PasswordProblem(password);
        if (problem is not null)
        {
            return AdminResult<User>.Fail(problem);
        }
        var user = UserAccounts.New(email, password, hasher, time.GetUtcNow());
        return await users.CreateAsync(user, cancellationToken)
            ? AdminResult<User>.Ok(user)
            : AdminResult<User>.Fail($"a user with e-mail '{email}' exists");
    }
}
