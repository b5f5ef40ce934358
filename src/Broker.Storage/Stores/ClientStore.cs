using System.Data.Common;
using System.Reflection;
using Broker.Core.Clients;
using Broker.Core.Platform;
using Broker.Core.Stores;
using Dapper;

namespace Broker.Storage.Stores;

public sealed partial class ClientStore(Database database) : IClientStore
{
    // Every column of the clients table, as ClientRow maps them.
    private static readonly string Columns = ClientRow.ColumnList;

    public async Task<Client?> FindAsync(string clientId, CancellationToken cancellationToken = default) =>
        (await database.QuerySingleOrDefaultAsync<ClientRow>(
            $"SELECT {Columns} FROM clients WHERE client_id = @clientId", new { clientId }, cancellationToken))?.ToClient();

    // An insert run twice would find its own row and answer "taken": never retried as a whole.
    public Task<bool> CreateAsync(Client client, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            try
            {
                var rows = await connection.ExecuteAsync(ClientRow.From(client).Insert().Command(null, token));
                return rows == 1;
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                return false;
            }
        }, cancellationToken);

    // Open registration's write: many arrive at once, so on SQLite they share commits (Database.WriteAsync).
    public async Task<bool> CreateAsync(Client client, AuditEntry audit, CancellationToken cancellationToken = default)
    {
        try
        {
            return await database.WriteAsync([ClientRow.From(client).Insert(), AuditStore.Insert(audit)], cancellationToken);
        }
        catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
        {
            return false;
        }
    }

    // version + 1: a second run would count twice, so it is never retried as a whole.
    public Task<bool> SetParentSettingsAsync(
        string clientId, RedirectPolicy policy, string? callbackPath, int childRateLimit,
        IReadOnlyList<string> childEndpoints, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients
                   SET kind = @Kind, redirect_policy = @Policy, callback_path = @CallbackPath,
                       child_rate_limit = @ChildRateLimit, child_endpoints = @ChildEndpoints, grant_types = @GrantTypes,
                       version = version + 1
                 WHERE client_id = @ClientId AND kind <> @ChildKind
                """,
                new
                {
                    ClientId = clientId,
                    Kind = ClientRow.KindName(ClientKind.Parent),
                    ChildKind = ClientRow.KindName(ClientKind.Child),
                    Policy = ClientRow.PolicyName(policy),
                    CallbackPath = callbackPath,
                    ChildRateLimit = childRateLimit,
                    ChildEndpoints = DbValues.List(childEndpoints),
                    // Parent keys are public: the authorization code grant is all they may ever use.
                    GrantTypes = DbValues.List([GrantType.AuthorizationCode]),
                },
                cancellationToken: token));
            return rows == 1;
        }, cancellationToken);

    public Task<IReadOnlyList<Client>> ListChildrenOwnedByAsync(string userId, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<Client>>(async (connection, token) =>
        {
            var rows = await connection.QueryAsync<ClientRow>(new CommandDefinition(
                $"SELECT {Columns} FROM clients WHERE owner_user_id = @userId AND kind = @Kind ORDER BY created_at DESC, client_id",
                new { userId, Kind = ClientRow.KindName(ClientKind.Child) }, cancellationToken: token));
            return rows.Select(row => row.ToClient()).ToList();
        }, cancellationToken);

    public Task<bool> RevokeOwnedChildAsync(
        string userId, string clientId, DateTimeOffset now, AuditEntry? audit = null, CancellationToken cancellationToken = default) =>
        database.InTransactionAsync(async (connection, transaction) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE clients SET revoked_at = @Now, version = version + 1 WHERE client_id = @clientId AND owner_user_id = @userId AND kind = @Kind AND revoked_at IS NULL",
                new { clientId, userId, Kind = ClientRow.KindName(ClientKind.Child), Now = DbValues.Time(now) },
                transaction, cancellationToken: cancellationToken));
            if (rows != 1)
            {
                return (false, false);
            }
            if (audit is not null)
            {
                await AuditStore.InsertAsync(connection, transaction, audit, cancellationToken);
            }
            return (true, true);
        }, cancellationToken);

    public Task<IReadOnlyList<Client>> ListManagedAsync(
        string? nameStartsWith, int limit, string? afterClientId, CancellationToken cancellationToken = default) =>
        database.ReadAsync<IReadOnlyList<Client>>(async (connection, token) =>
        {
            // Exact name matches first, then by name and id; the cursor is the last client's position in that order.
            // The SQL is assembled from fixed fragments (never from input) so no parameter is ever an untyped NULL.
            // Without a query every client ranks alike, so the rank drops out (a bare "1" in ORDER BY would
            // mean "the first column").
            var rank = nameStartsWith is null ? "0" : "CASE WHEN name = @Query THEN 0 ELSE 1 END";
            var order = nameStartsWith is null ? "name, client_id" : $"{rank}, name, client_id";
            var cursor = afterClientId is null
                ? null
                : await connection.QuerySingleOrDefaultAsync<CursorRow>(new CommandDefinition(
                    $"SELECT {rank} AS rank_value, name, client_id FROM clients WHERE client_id = @afterClientId AND name_key IS NOT NULL",
                    new { afterClientId, Query = nameStartsWith ?? "" }, cancellationToken: token));
            if (afterClientId is not null && cursor is null)
            {
                return [];
            }
            var filter = nameStartsWith is null ? "" : "AND name LIKE @Prefix ESCAPE '\\'";
            var after = cursor is null
                ? ""
                : $"AND ({rank} > @CursorRank OR ({rank} = @CursorRank AND (name > @CursorName OR (name = @CursorName AND client_id > @CursorId))))";
            var rows = await connection.QueryAsync<ClientRow>(new CommandDefinition(
                $"SELECT {Columns} FROM clients WHERE name_key IS NOT NULL {filter} {after} ORDER BY {order} {database.Dialect.LimitClause("@Limit")}",
                new
                {
                    Query = nameStartsWith ?? "",
                    Prefix = EscapeLike(nameStartsWith ?? "") + "%",
                    CursorId = cursor?.ClientId ?? "",
                    CursorRank = cursor?.RankValue ?? 0,
                    CursorName = cursor?.Name ?? "",
                    Limit = limit,
                },
                cancellationToken: token));
            return rows.Select(row => row.ToClient()).ToList();
        }, cancellationToken);

    // version + 1: a second run would count twice, so it is never retried as a whole.
    public Task<WriteOutcome> ReplaceAsync(Client client, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            try
            {
                var rows = await connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE clients
                       SET name = @Name, name_key = @NameKey, application_type = @ApplicationType, redirect_uris = @RedirectUris,
                           post_logout_redirect_uris = @PostLogoutRedirectUris, response_types = @ResponseTypes,
                           grant_types = @GrantTypes, token_endpoint_auth_method = @TokenEndpointAuthMethod,
                           client_uri = @ClientUri, logo_uri = @LogoUri, tos_uri = @TosUri, policy_uri = @PolicyUri,
                           initiate_login_uri = @InitiateLoginUri, contacts = @Contacts,
                           secret_hash = @SecretHash, secret_fingerprint = @SecretFingerprint, version = version + 1
                     WHERE client_id = @ClientId AND deleted_at IS NULL
                    """,
                    ClientRow.From(client), cancellationToken: token));
                return rows == 1 ? WriteOutcome.Done : WriteOutcome.NotFound;
            }
            catch (DbException exception) when (database.Dialect.IsUniqueViolation(exception))
            {
                return WriteOutcome.Conflict;
            }
        }, cancellationToken);

    // A second run would find the client deleted and answer "not found": never retried as a whole.
    public Task<bool> DeleteAsync(string clientId, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            var rows = await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients SET deleted_at = @Now, revoked_at = COALESCE(revoked_at, @Now), name_key = NULL,
                                   registration_token_hash = NULL, version = version + 1
                 WHERE client_id = @clientId AND deleted_at IS NULL
                """,
                new { clientId, Now = DbValues.Time(now) }, cancellationToken: token));
            return rows == 1;
        }, cancellationToken);

    public Task<long> CountOpenRegisteredAsync(CancellationToken cancellationToken = default) =>
        database.ReadAsync(async (connection, token) =>
        {
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM clients WHERE registration_source = @Source AND deleted_at IS NULL",
                new { Source = ClientRow.SourceName(RegistrationSource.Open) }, cancellationToken: token));
        }, cancellationToken);

    // A second run would count none of the rows the first deleted: never retried as a whole.
    public Task<int> DeleteUnusedOpenRegisteredAsync(DateTimeOffset createdBefore, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        database.WithConnectionAsync(async (connection, token) =>
        {
            return await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE clients SET deleted_at = @Now, revoked_at = COALESCE(revoked_at, @Now), name_key = NULL,
                                   registration_token_hash = NULL, version = version + 1
                 WHERE registration_source = @Source AND deleted_at IS NULL AND last_used_at IS NULL AND created_at < @CreatedBefore
                """,
                new { Source = ClientRow.SourceName(RegistrationSource.Open), Now = DbValues.Time(now), CreatedBefore = DbValues.Time(createdBefore) },
                cancellationToken: token));
        }, cancellationToken);

    private static string EscapeLike(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private sealed class CursorRow
    {
        public long RankValue { get; set; }
        public string Name { get; set; } = "";
        public string ClientId { get; set; } = "";
    }
}

/// <summary>A <c>clients</c> row as Dapper reads and writes it.</summary>
internal sealed class ClientRow
{
    public string ClientId { get; set; } = "";
    public string? SecretHash { get; set; }
    public string? SecretFingerprint { get; set; }
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public string RedirectUris { get; set; } = "[]";
    public string GrantTypes { get; set; } = "[]";
    public string TokenEndpointAuthMethod { get; set; } = "";
    public string Kind { get; set; } = "";
    public string RedirectPolicy { get; set; } = "";
    public string? CallbackPath { get; set; }
    public long? ChildRateLimit { get; set; }
    public string? ChildEndpoints { get; set; }
    public string? ParentClientId { get; set; }
    public string? OwnerUserId { get; set; }
    public string? Origin { get; set; }
    public long? RateLimit { get; set; }
    public string? Endpoints { get; set; }
    public long CreatedAt { get; set; }
    public long? RevokedAt { get; set; }
    public long? DisabledAt { get; set; }
    public string ApplicationType { get; set; } = "web";
    public string ResponseTypes { get; set; } = "[]";
    public string PostLogoutRedirectUris { get; set; } = "[]";
    public string? ClientUri { get; set; }
    public string? LogoUri { get; set; }
    public string? TosUri { get; set; }
    public string? PolicyUri { get; set; }
    public string? InitiateLoginUri { get; set; }
    public string Contacts { get; set; } = "[]";
    public string RegistrationSource { get; set; } = "admin";
    public string? RegistrationTokenHash { get; set; }
    public long? DeletedAt { get; set; }

    /// <summary>The name where it must be unique (listed, undeleted clients), else null.</summary>
    public string? NameKey { get; set; }
    public long Version { get; set; } = 1;
    public string? PreviousSecretHash { get; set; }
    public long? PreviousSecretExpiresAt { get; set; }
    public long? LastUsedAt { get; set; }

    // Every property is the column of the same name in snake_case, as Dapper maps them when reading.
    private static readonly (string Column, PropertyInfo Property)[] ColumnProperties =
        [.. typeof(ClientRow).GetProperties().Select(property => (SnakeCase(property.Name), property))];

    /// <summary>Every column, comma-separated, for SELECTs that read whole rows.</summary>
    public static readonly string ColumnList = string.Join(", ", ColumnProperties.Select(mapped => mapped.Column));

    // Columns a registrant's choices leave empty or not (auth method, optional URIs): always named, so
    // that what a caller sends cannot vary the statement's text. The SQLite writer keeps one compiled
    // command per text, and a caller cycling through 2^8 texts could keep it compiling.
    private static readonly HashSet<string> AlwaysInserted =
    [
        nameof(SecretHash), nameof(SecretFingerprint), nameof(RegistrationTokenHash),
        nameof(ClientUri), nameof(LogoUri), nameof(TosUri), nameof(PolicyUri), nameof(InitiateLoginUri),
    ];

    /// <summary>
    /// The INSERT of this row, leaving out the columns that hold no value and that only the kind of
    /// client decides (NULL is every nullable column's default). Open registration inserts clients at
    /// thousands a second, and SQLite finds each bound parameter by name in a list as long as the
    /// statement's: the columns left out (a third of them for a registered client) and the prefixed
    /// names were most of the cost of binding.
    /// </summary>
    public Statement Insert()
    {
        var included = ColumnProperties
            .Select(mapped => (mapped.Column, mapped.Property.Name, Value: mapped.Property.GetValue(this)))
            .Where(mapped => mapped.Value is not null || AlwaysInserted.Contains(mapped.Name))
            .ToList();
        var insert = new Statement(
            $"INSERT INTO clients ({string.Join(", ", included.Select(mapped => mapped.Column))}) " +
            $"VALUES ({string.Join(", ", included.Select(mapped => "@" + mapped.Name))})");
        foreach (var (_, name, value) in included)
        {
            insert.With(name, value);
        }
        return insert;
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((letter, index) => char.IsUpper(letter) && index > 0 ? "_" + char.ToLowerInvariant(letter) : char.ToLowerInvariant(letter).ToString()));

    public static string KindName(ClientKind kind) => kind.ToString().ToLowerInvariant();

    public static string PolicyName(RedirectPolicy policy) => policy.ToString().ToLowerInvariant();

    public static ClientRow From(Client client) => new()
    {
        ClientId = client.ClientId,
        SecretHash = client.SecretHash,
        SecretFingerprint = client.SecretFingerprint,
        Name = client.Name,
        Description = client.Description,
        RedirectUris = DbValues.List(client.RedirectUris),
        GrantTypes = DbValues.List(client.GrantTypes),
        TokenEndpointAuthMethod = client.TokenEndpointAuthMethod,
        Kind = KindName(client.Kind),
        RedirectPolicy = PolicyName(client.RedirectPolicy),
        CallbackPath = client.CallbackPath,
        ChildRateLimit = client.ChildRateLimit,
        ChildEndpoints = DbValues.OptionalList(client.ChildEndpoints),
        ParentClientId = client.ParentClientId,
        OwnerUserId = client.OwnerUserId,
        Origin = client.Origin,
        RateLimit = client.RateLimit,
        Endpoints = DbValues.OptionalList(client.Endpoints),
        CreatedAt = DbValues.Time(client.CreatedAt),
        RevokedAt = DbValues.Time(client.RevokedAt),
        DisabledAt = DbValues.Time(client.DisabledAt),
        ApplicationType = client.ApplicationType,
        ResponseTypes = DbValues.List(client.ResponseTypes),
        PostLogoutRedirectUris = DbValues.List(client.PostLogoutRedirectUris),
        ClientUri = client.ClientUri,
        LogoUri = client.LogoUri,
        TosUri = client.TosUri,
        PolicyUri = client.PolicyUri,
        InitiateLoginUri = client.InitiateLoginUri,
        Contacts = DbValues.List(client.Contacts),
        RegistrationSource = SourceName(client.Source),
        RegistrationTokenHash = client.RegistrationTokenHash,
        DeletedAt = DbValues.Time(client.DeletedAt),
        NameKey = client.Kind == ClientKind.Child || client.DeletedAt is not null ? null : client.Name,
        Version = client.Version,
        PreviousSecretHash = client.PreviousSecretHash,
        PreviousSecretExpiresAt = DbValues.Time(client.PreviousSecretExpiresAt),
        LastUsedAt = DbValues.Time(client.LastUsedAt),
    };

    public static string SourceName(RegistrationSource source) => source.ToString().ToLowerInvariant();

    public Client ToClient() => new()
    {
        ClientId = ClientId,
        SecretHash = SecretHash,
        SecretFingerprint = SecretFingerprint,
        Name = Name,
        Description = Description,
        RedirectUris = DbValues.List(RedirectUris),
        GrantTypes = DbValues.List(GrantTypes),
        TokenEndpointAuthMethod = TokenEndpointAuthMethod,
        Kind = Enum.Parse<ClientKind>(Kind, ignoreCase: true),
        RedirectPolicy = Enum.Parse<RedirectPolicy>(RedirectPolicy, ignoreCase: true),
        CallbackPath = CallbackPath,
        ChildRateLimit = (int?)ChildRateLimit,
        ChildEndpoints = DbValues.OptionalList(ChildEndpoints),
        ParentClientId = ParentClientId,
        OwnerUserId = OwnerUserId,
        Origin = Origin,
        RateLimit = (int?)RateLimit,
        Endpoints = DbValues.OptionalList(Endpoints),
        CreatedAt = DbValues.Time(CreatedAt),
        RevokedAt = DbValues.Time(RevokedAt),
        DisabledAt = DbValues.Time(DisabledAt),
        ApplicationType = ApplicationType,
        ResponseTypes = DbValues.List(ResponseTypes),
        PostLogoutRedirectUris = DbValues.List(PostLogoutRedirectUris),
        ClientUri = ClientUri,
        LogoUri = LogoUri,
        TosUri = TosUri,
        PolicyUri = PolicyUri,
        InitiateLoginUri = InitiateLoginUri,
        Contacts = DbValues.List(Contacts),
        Source = Enum.Parse<RegistrationSource>(RegistrationSource, ignoreCase: true),
        RegistrationTokenHash = RegistrationTokenHash,
        DeletedAt = DbValues.Time(DeletedAt),
        Version = Version,
        PreviousSecretHash = PreviousSecretHash,
        PreviousSecretExpiresAt = DbValues.Time(PreviousSecretExpiresAt),
        LastUsedAt = DbValues.Time(LastUsedAt),
    };
}
