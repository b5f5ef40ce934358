using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Security;
using Broker.Core.Stores;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>A rotated secret: shown once, never stored.</summary>
public sealed record RotatedSecret(Client Client, string ClientSecret);

/// <summary>A new admin token and its value, shown once.</summary>
public sealed record CreatedAdminToken(AdminToken Token, string Value);

/// <summary>
/// The account named a parent's vendor: by e-mail (the console's form) or by user id (the admin API may
/// name either); <see cref="None"/> names nobody, which removes the vendor.
/// </summary>
public sealed record ParentOwner
{
    private ParentOwner(string? email, string? userId) => (Email, UserId) = (email, userId);

    public string? Email { get; }

    public string? UserId { get; }

    public static ParentOwner None { get; } = new(null, null);

    /// <summary>The account with this e-mail; blank names nobody (the console's emptied field).</summary>
    public static ParentOwner ByEmail(string? email) => string.IsNullOrWhiteSpace(email) ? None : new(email, null);

    /// <summary>The account with this user id; blank names nobody.</summary>
    public static ParentOwner ByUserId(string? userId) => string.IsNullOrWhiteSpace(userId) ? None : new(null, userId);
}

/// <summary>What the platform team may do to a child.</summary>
public enum ChildStateChange
{
    Disable,
    Enable,
    Delete,
}

/// <summary>
/// The platform team's operations beyond creating applications and parents, shared by the admin API
/// and the command line. Each write carries its audit entry into the store's transaction.
/// </summary>
public sealed class PlatformAdministration(
    IClientStore clients, IPlatformClientStore platformClients, IUserStore users, IPlatformUserStore platformUsers,
    IAdminTokenStore adminTokens, ITrustedIssuerStore trustedIssuers, ClientAdministration administration,
    IOptions<PlatformOptions> options, IOptions<InstallationOptions> installation, TimeProvider time)
{
    /// <summary>
    /// Disables a parent: its keys, its unspent installation tokens and (through the gateway's rule
    /// that a child needs an active parent) its children stop; see DESIGN.md.
    /// </summary>
    public async Task<AdminResult<Client>> DisableParentAsync(
        string clientId, bool disableChildren, AuditActor actor, long? ifMatch, CancellationToken cancellationToken = default)
    {
        var found = await FindAsync<ParentRole>(clientId, ifMatch, cancellationToken);
        if (found.Problem is not null)
        {
            return found;
        }
        var parent = found.Value!;
        // Reject disabling twice: nothing would change, and a second entry would mislead.
        if (parent.DisabledAt is not null)
        {
            return AdminResult<Client>.Fail("the parent is already disabled", AdminFailure.Conflict);
        }
        var now = time.GetUtcNow();
        var audit = actor.Entry(AuditActions.ParentDisabled, AuditActions.Client(clientId), now, "installation tokens revoked");
        // Its settings stay, so enabling the parent again (PUT naming them, or parents enable) resumes what its children had.
        var disabled = await platformClients.DisableParentAsync(parent with { DisabledAt = now }, parent.Version, disableChildren, now, audit, cancellationToken);
        if (disabled is null)
        {
            return ClientAdministration.Moved<Client>(ifMatch);
        }
        return AdminResult<Client>.Ok((await clients.FindAsync(clientId, cancellationToken))!);
    }

    /// <summary>A new secret for a parent; the old one works for <see cref="PlatformOptions.SecretRotationOverlap"/>.</summary>
    public async Task<AdminResult<RotatedSecret>> RotateSecretAsync(
        string clientId, AuditActor actor, long? ifMatch, CancellationToken cancellationToken = default)
    {
        var found = await FindAsync<ParentRole>(clientId, ifMatch, cancellationToken);
        if (found.Problem is not null)
        {
            return AdminResult<RotatedSecret>.Fail(found.Problem, found.Failure);
        }
        var parent = found.Value!;
        var now = time.GetUtcNow();
        var overlapEnds = now + options.Value.SecretRotationOverlap;
        var secret = Secret.NewToken();
        var audit = actor.Entry(AuditActions.SecretRotated, AuditActions.Client(clientId), now,
            $"new fingerprint {Secret.Fingerprint(secret)}; previous secret accepted until {overlapEnds:O}");
        var saved = await administration.SaveAsync(parent, ClientSecrets.Rotated(parent, secret, overlapEnds), ifMatch, audit, cancellationToken);
        return saved.Problem is not null
            ? AdminResult<RotatedSecret>.Fail(saved.Problem, saved.Failure)
            : AdminResult<RotatedSecret>.Ok(new RotatedSecret(saved.Value!, secret));
    }

    /// <summary>
    /// Names the parent's vendor: the account <paramref name="owner"/> names by e-mail or user id
    /// (<see cref="ParentOwner.None"/>: no vendor), who then sees the parent, its installations and usage in
    /// the console and may rotate its secret. The console, the admin API and the command line all come here.
    /// </summary>
    public async Task<AdminResult<Client>> SetParentOwnerAsync(
        string clientId, ParentOwner owner, AuditActor actor, long? ifMatch, CancellationToken cancellationToken = default)
    {
        var found = await FindAsync<ParentRole>(clientId, ifMatch, cancellationToken);
        if (found.Problem is not null)
        {
            return found;
        }
        var parent = found.Value!;
        string? ownerUserId = null;
        if (owner.Email is { } email)
        {
            var normalized = Core.Accounts.AccountRules.Normalize(email);
            var account = normalized.Length <= Core.Accounts.AccountRules.MaxEmailLength ? await users.FindByEmailAsync(normalized, cancellationToken) : null;
            // Reject an address without an account: the vendor signs in with it, so it must exist first.
            if (account is null)
            {
                return AdminResult<Client>.Fail("no account has this e-mail; the vendor creates one first (join), then is named owner");
            }
            ownerUserId = account.UserId;
        }
        else if (owner.UserId is { } userId)
        {
            var account = userId.Length <= 64 ? await users.FindAsync(userId, cancellationToken) : null;
            // Reject a user id without an account, as an unknown e-mail.
            if (account is null)
            {
                return AdminResult<Client>.Fail($"no account has the user id '{userId}'; the vendor creates one first (join), then is named owner");
            }
            ownerUserId = account.UserId;
        }
        var settings = (ParentRole)parent.Role;
        // Reject a change that changes nothing: a second entry in the audit log would mislead.
        if (settings.OwnerUserId == ownerUserId)
        {
            return AdminResult<Client>.Fail(ownerUserId is null ? "the parent has no owner" : "this user already owns the parent", AdminFailure.Conflict);
        }
        var audit = actor.Entry(AuditActions.ParentOwnerChanged, AuditActions.Client(clientId), time.GetUtcNow(),
            ownerUserId is null ? "owner removed" : $"owner={AuditActions.User(ownerUserId)}");
        return await administration.SaveAsync(parent, parent with { Role = settings with { OwnerUserId = ownerUserId } }, ifMatch, audit, cancellationToken);
    }

    /// <summary>Disables, enables or deletes (revokes for good) one child.</summary>
    public async Task<AdminResult<Client>> ChangeChildStateAsync(
        string clientId, ChildStateChange change, AuditActor actor, long? ifMatch, CancellationToken cancellationToken = default)
    {
        var found = await FindAsync<InstallationRole>(clientId, ifMatch, cancellationToken);
        if (found.Problem is not null)
        {
            return found;
        }
        var child = found.Value!;
        var now = time.GetUtcNow();
        // Reject any change to a deleted (revoked) child: revocation is permanent.
        if (child.RevokedAt is not null)
        {
            return AdminResult<Client>.Fail("this child is revoked for good; it cannot be changed", AdminFailure.Conflict);
        }
        if (change == ChildStateChange.Enable)
        {
            // Reject enabling the installation of a disabled user: disabling a user stops all their children.
            var owner = await users.FindAsync(((InstallationRole)child.Role).OwnerUserId, cancellationToken);
            if (owner?.DisabledAt is not null)
            {
                return AdminResult<Client>.Fail("the child's owner is disabled; its installations stay disabled", AdminFailure.Conflict);
            }
        }
        var (updated, action) = change switch
        {
            ChildStateChange.Disable => (child with { DisabledAt = child.DisabledAt ?? now }, AuditActions.ChildDisabled),
            ChildStateChange.Enable => (child with { DisabledAt = null }, AuditActions.ChildEnabled),
            _ => (child with { RevokedAt = now }, AuditActions.ChildDeleted),
        };
        return await administration.SaveAsync(child, updated, ifMatch, actor.Entry(action, AuditActions.Client(clientId), now), cancellationToken);
    }

    /// <summary>
    /// Changes one child's own quota or whitelist. A value of null means "inherit the parent's";
    /// a set value may narrow the parent's, never widen it.
    /// </summary>
    public async Task<AdminResult<Client>> ChangeChildLimitsAsync(
        string clientId, bool setRateLimit, int? rateLimit, bool setEndpoints, IReadOnlyList<string>? endpoints,
        AuditActor actor, long? ifMatch, CancellationToken cancellationToken = default)
    {
        var found = await FindAsync<InstallationRole>(clientId, ifMatch, cancellationToken);
        if (found.Problem is not null)
        {
            return found;
        }
        var child = found.Value!;
        // Reject an empty change: nothing to do is a caller's mistake worth telling.
        if (!setRateLimit && !setEndpoints)
        {
            return AdminResult<Client>.Fail("name rate_limit or endpoints (null to inherit the parent's)");
        }
        var limits = (InstallationRole)child.Role;
        var parent = await clients.FindAsync(limits.ParentClientId, cancellationToken);
        if (parent?.Role is not ParentRole granted)
        {
            return AdminResult<Client>.Fail("the child's parent no longer exists", AdminFailure.Conflict);
        }
        if (setRateLimit)
        {
            // Reject a quota above the parent's child quota.
            var problem = ChildLimits.RateLimitProblem(granted, rateLimit, installation.Value.DefaultChildRateLimit);
            if (problem is not null)
            {
                return AdminResult<Client>.Fail(problem);
            }
            limits = limits with { RateLimit = rateLimit };
        }
        if (setEndpoints)
        {
            IReadOnlyList<string>? normalised = null;
            if (endpoints is not null)
            {
                // Reject malformed patterns, an empty whitelist (disable the child instead) and any widening.
                normalised = EndpointPattern.TryNormalise(endpoints, out var problem);
                if (normalised is null)
                {
                    return AdminResult<Client>.Fail(problem!);
                }
                if (normalised.Count == 0)
                {
                    return AdminResult<Client>.Fail("endpoints must name at least one endpoint; disable the child to stop it");
                }
                problem = ChildLimits.EndpointsProblem(granted, normalised);
                if (problem is not null)
                {
                    return AdminResult<Client>.Fail(problem);
                }
            }
            limits = limits with { Endpoints = normalised };
        }
        var details = $"rate_limit={limits.RateLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "inherit"} " +
            $"endpoints={(limits.Endpoints is null ? "inherit" : string.Join(", ", limits.Endpoints))}";
        return await administration.SaveAsync(child, child with { Role = limits }, ifMatch,
            actor.Entry(AuditActions.ChildChanged, AuditActions.Client(clientId), time.GetUtcNow(), details), cancellationToken);
    }

    /// <summary>Disables a user and every child they own.</summary>
    public async Task<AdminResult<int>> DisableUserAsync(string userId, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var user = userId.Length is > 0 and <= 64 ? await users.FindAsync(userId, cancellationToken) : null;
        // Reject unknown users, and users already disabled (nothing would change).
        if (user is null)
        {
            return AdminResult<int>.Fail($"no user with id '{userId}'", AdminFailure.NotFound);
        }
        var now = time.GetUtcNow();
        var children = await platformUsers.DisableAsync(userId, now, actor.Entry(AuditActions.UserDisabled, AuditActions.User(userId), now), cancellationToken);
        return children is null
            ? AdminResult<int>.Fail("the user is already disabled", AdminFailure.Conflict)
            : AdminResult<int>.Ok(children.Value);
    }

    /// <summary>Creates an admin API token; its value is returned once and only its hash is stored.</summary>
    public async Task<AdminResult<CreatedAdminToken>> CreateAdminTokenAsync(
        string name, IReadOnlyList<string> scopes, AuditActor actor, CancellationToken cancellationToken = default)
    {
        // Reject a bad name (same text rules as application names) and unknown or missing scopes.
        var problem = ClientText.NameProblem(name, "--name");
        if (problem is not null)
        {
            return AdminResult<CreatedAdminToken>.Fail(problem);
        }
        var distinct = scopes.Distinct(StringComparer.Ordinal).ToList();
        problem = AdminScopes.Problem(distinct);
        if (problem is not null)
        {
            return AdminResult<CreatedAdminToken>.Fail(problem);
        }
        var value = Secret.NewToken();
        var now = time.GetUtcNow();
        var token = new AdminToken
        {
            TokenId = Secret.NewClientId(now),
            Name = name.Trim(),
            TokenHash = Secret.Hash(value),
            Fingerprint = Secret.Fingerprint(value),
            Scopes = distinct,
            CreatedAt = now,
        };
        await adminTokens.CreateAsync(token, actor.Entry(AuditActions.AdminTokenCreated, AuditActions.AdminToken(token.TokenId), now,
            $"name={token.Name} scopes={string.Join(' ', distinct)}"), cancellationToken);
        return AdminResult<CreatedAdminToken>.Ok(new CreatedAdminToken(token, value));
    }

    public async Task<AdminResult<bool>> RevokeAdminTokenAsync(string tokenId, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        // Reject unknown and already revoked tokens alike.
        return await adminTokens.RevokeAsync(tokenId, now, actor.Entry(AuditActions.AdminTokenRevoked, AuditActions.AdminToken(tokenId), now), cancellationToken)
            ? AdminResult<bool>.Ok(true)
            : AdminResult<bool>.Fail($"no active admin token with id '{tokenId}'", AdminFailure.NotFound);
    }

    /// <summary>Trusts software statements signed by <paramref name="issuer"/> with one of <paramref name="jwks"/>' keys.</summary>
    public async Task<AdminResult<TrustedIssuer>> AddTrustedIssuerAsync(
        string? issuer, string? vendorName, string? jwks, AuditActor actor, CancellationToken cancellationToken = default)
    {
        // Reject a bad issuer name, vendor name (shown on the consent page: the name rules) or key set.
        var problem = TrustedIssuer.IssuerProblem(issuer) ?? ClientText.NameProblem(vendorName, "vendor_name") ?? TrustedIssuerKeys.Problem(jwks);
        if (problem is not null)
        {
            return AdminResult<TrustedIssuer>.Fail(problem);
        }
        var now = time.GetUtcNow();
        var trusted = new TrustedIssuer { Issuer = issuer!, VendorName = vendorName!.Trim(), Jwks = jwks!, CreatedAt = now };
        var audit = actor.Entry(AuditActions.TrustedIssuerAdded, AuditActions.TrustedIssuer(trusted.Issuer), now, $"vendor {trusted.VendorName}");
        // Reject an issuer already trusted: remove it first to change its keys, so each change is its own audit entry.
        return await trustedIssuers.CreateAsync(trusted, audit, cancellationToken)
            ? AdminResult<TrustedIssuer>.Ok(trusted)
            : AdminResult<TrustedIssuer>.Fail($"issuer '{trusted.Issuer}' is already trusted", AdminFailure.Conflict);
    }

    /// <summary>Stops trusting an issuer's statements; clients registered with them keep their vendor label.</summary>
    public async Task<AdminResult<bool>> RemoveTrustedIssuerAsync(string issuer, AuditActor actor, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        return await trustedIssuers.DeleteAsync(issuer, actor.Entry(AuditActions.TrustedIssuerRemoved, AuditActions.TrustedIssuer(issuer), now), cancellationToken)
            ? AdminResult<bool>.Ok(true)
            : AdminResult<bool>.Fail($"no trusted issuer '{issuer}'", AdminFailure.NotFound);
    }

    /// <summary>A client in the role <typeparamref name="TRole"/> whose version matches <paramref name="ifMatch"/> when given.</summary>
    public async Task<AdminResult<Client>> FindAsync<TRole>(string clientId, long? ifMatch, CancellationToken cancellationToken)
        where TRole : ClientRole
    {
        var client = Secret.IsWellFormedClientId(clientId) ? await clients.FindAsync(clientId, cancellationToken) : null;
        // Reject unknown ids and clients in another role alike: a parent route never acts on a child.
        if (client?.Role is not TRole)
        {
            var roleName = typeof(TRole) == typeof(ParentRole) ? "parent" : "child";
            return AdminResult<Client>.Fail($"no {roleName} with client_id '{clientId}'", AdminFailure.NotFound);
        }
        if (ifMatch is not null && ifMatch != client.Version)
        {
            return ClientAdministration.VersionMoved<Client>(ifMatch);
        }
        return AdminResult<Client>.Ok(client);
    }
}
