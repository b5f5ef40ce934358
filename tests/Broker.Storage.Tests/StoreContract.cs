using Broker.Core.Platform;
using Broker.Core.Accounts;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Stores;
using Broker.Storage.Stores;
using Dapper;

namespace Broker.Storage.Tests;

/// <summary>
/// What every storage provider must do, written once (as Dapper's AsyncTests are) and run by one
/// subclass per provider. Tests use only the stores and portable SQL, never a provider's features.
/// Every test is a <c>SkippableFact</c>/<c>SkippableTheory</c>: a provider without a server here skips
/// them all with its <see cref="SkipReason"/>, thrown from <see cref="InitializeAsync"/> before each test
/// (a plain <c>[Fact]</c> added here would fail loudly there instead of passing unseen).
/// </summary>
public abstract partial class StoreContract : IAsyncLifetime
{
    private const int Racers = 20;

    // A time with sub-millisecond ticks: stores keep milliseconds.
    protected static readonly DateTimeOffset Now = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_567);

    private Database? database;

    /// <summary>Why this provider cannot run here (no server given), or null to run.</summary>
    protected virtual string? SkipReason => null;

    /// <summary>A new, empty database of the provider, used by no other test; the subclass cleans it up.</summary>
    protected abstract Task<Database> CreateEmptyDatabaseAsync();

    /// <summary>Drops what <see cref="CreateEmptyDatabaseAsync"/> made.</summary>
    protected abstract Task DropDatabasesAsync();

    protected Database Database => database ?? throw new InvalidOperationException("not initialised");

    protected ClientStore Clients => new(Database);

    protected UserStore Users => new(Database);

    protected GrantStore Grants => new(Database);

    public async Task InitializeAsync()
    {
        Skip.If(SkipReason is not null, SkipReason);
        database = await CreateEmptyDatabaseAsync();
        await new MigrationRunner(database).MigrateAsync();
    }

    public Task DisposeAsync() => SkipReason is null ? DropDatabasesAsync() : Task.CompletedTask;

    // ---- Data Protection key ring ----

    [SkippableFact]
    public async Task Key_ring_elements_are_kept_in_order_and_a_repeated_name_adds_rather_than_replaces()
    {
        var keys = new DataProtectionKeyStore(Database);
        await keys.StoreAsync("key-1", "<key id=\"1\" />", Now);
        await keys.StoreAsync("key-2", "<key id=\"2\" />", Now.AddSeconds(1));
        await keys.StoreAsync("key-1", "<revocation id=\"1\" />", Now.AddSeconds(2));

        (await keys.ListAsync()).Should().Equal("<key id=\"1\" />", "<key id=\"2\" />", "<revocation id=\"1\" />");
    }

    [SkippableFact]
    public async Task The_key_ring_repository_reads_what_another_instance_stored()
    {
        var first = new DatabaseXmlRepository(new DataProtectionKeyStore(Database), TimeProvider.System);
        var second = new DatabaseXmlRepository(new DataProtectionKeyStore(Database), TimeProvider.System);
        first.StoreElement(new System.Xml.Linq.XElement("key", new System.Xml.Linq.XAttribute("id", "a")), "key-a");

        second.GetAllElements().Select(element => element.ToString()).Should().Equal("<key id=\"a\" />");
    }

    // ---- Migrations ----

    [SkippableFact]
    public async Task A_new_database_gets_every_migration_once_and_a_second_run_changes_nothing()
    {
        var runner = new MigrationRunner(await CreateEmptyDatabaseAsync());
        var all = runner.Migrations().Select(m => $"V{m.Version:000}_{m.Name}").ToList();

        all.Should().Contain("V001_initial");
        (await runner.MigrateAsync()).Should().Equal(all);
        (await runner.MigrateAsync()).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Instances_starting_together_apply_each_migration_exactly_once()
    {
        var fresh = await CreateEmptyDatabaseAsync();
        var all = new MigrationRunner(fresh).Migrations().Select(m => $"V{m.Version:000}_{m.Name}").ToList();

        var applied = await RaceAsync(6, _ => new MigrationRunner(fresh).MigrateAsync());

        applied.SelectMany(names => names).Should().BeEquivalentTo(all);
        await using var connection = await fresh.OpenAsync();
        (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations")).Should().Be(all.Count);
        (await new UserStore(fresh).CreateAsync(NewUser())).Should().BeTrue();
    }

    [SkippableFact]
    public async Task Every_table_has_the_columns_and_nullability_of_SQLite()
    {
        var reference = await SqliteSchemaAsync();
        reference.Keys.Should().Contain(["users", "clients", "authorization_codes", "access_tokens", "schema_migrations"]);

        await using var connection = await Database.OpenAsync();
        foreach (var (table, columns) in reference)
        {
            (await ColumnsAsync(connection, table)).Should().Equal(columns, $"{table} must match the SQLite migrations");
        }
    }

    // ---- Clients ----

    public static TheoryData<string> ClientSamples() => ["full", "full parent", "minimal", "empty lists", "text"];

    [SkippableTheory]
    [MemberData(nameof(ClientSamples))]
    public async Task A_client_reads_back_with_every_field_as_written_and_times_to_the_millisecond(string sample)
    {
        var owner = await CreateUserAsync();
        var parent = await CreateParentAsync();
        var client = sample switch
        {
            "full" => NewChild(parent, owner) with
            {
                SecretHash = Secret.Hash("s"),
                SecretFingerprint = "abcd",
                Description = "An installation",
                Metadata = FullMetadata("Installation"),
                Role = (InstallationRole)NewChild(parent, owner).Role with { RateLimit = 50, Endpoints = ["GET /b", "GET /a"] },
                RevokedAt = Now.AddMinutes(1),
                DisabledAt = Now.AddMinutes(2),
            },
            "full parent" => NewStandard("Full parent") with
            {
                SecretFingerprint = "abcd",
                Metadata = FullMetadata("Full parent"),
                Role = new ParentRole { RedirectPolicy = RedirectPolicy.Installation, CallbackPath = "/broker/callback", ChildRateLimit = 50, ChildEndpoints = ["GET /b", "GET /a"] },
                PreviousSecretHash = Secret.Hash("p"),
                DisabledAt = Now.AddMinutes(2),
            },
            "minimal" => new Client { ClientId = Secret.NewClientId(), Metadata = new ClientMetadata { ClientName = "Minimal" }, CreatedAt = Now },
            "empty lists" => NewChild(parent, owner) with
            {
                Metadata = new ClientMetadata { ClientName = "Empty", RedirectUris = [], GrantTypes = [], ResponseTypes = [] },
                Role = (InstallationRole)NewChild(parent, owner).Role with { Endpoints = [] },
            },
            "text" => new Client
            {
                ClientId = Secret.NewClientId(),
                Metadata = new ClientMetadata { ClientName = "<b>O'Brien</b> \"Café\" \u65e5\u672c \U0001F600", RedirectUris = ["https://example.com/cb?a=1&b=%20"] },
                Description = "Line one\r\nLine two\t'quoted'; DROP TABLE clients; --",
                CreatedAt = Now,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(sample)),
        };

        (await Clients.CreateAsync(client)).Should().BeTrue();

        var read = await Clients.FindAsync(client.ClientId);
        read.Should().BeEquivalentTo(ToMilliseconds(client), options => options.WithStrictOrdering().RespectingRuntimeTypes());
    }

    [SkippableFact]
    public async Task An_unknown_client_is_not_found()
    {
        (await Clients.FindAsync(Secret.NewClientId())).Should().BeNull();
    }

    [SkippableFact]
    public async Task Many_clients_are_found_at_once_past_one_query_of_ids()
    {
        var stored = new[] { NewStandard("First"), NewStandard("Second"), NewStandard("Third") };
        foreach (var client in stored)
        {
            (await Clients.CreateAsync(client)).Should().BeTrue();
        }
        // 1,200 ids: three queries' worth, the stored ones spread over them among ids no client has.
        var ids = Enumerable.Range(0, 1_200).Select(_ => Secret.NewClientId()).ToArray();
        ids[7] = stored[0].ClientId;
        ids[600] = stored[1].ClientId;
        ids[1_199] = stored[2].ClientId;

        var found = await Clients.FindManyAsync(ids);

        found.Should().BeEquivalentTo(stored.Select(ToMilliseconds), options => options.RespectingRuntimeTypes());
        (await Clients.FindManyAsync([])).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Many_clients_versions_are_read_at_once_and_move_with_every_save()
    {
        var first = NewStandard("First");
        var second = NewStandard("Second");
        (await Clients.CreateAsync(first)).Should().BeTrue();
        (await Clients.CreateAsync(second)).Should().BeTrue();
        var ids = Enumerable.Range(0, 700).Select(_ => Secret.NewClientId()).ToArray();
        ids[3] = first.ClientId;
        ids[650] = second.ClientId;

        (await Clients.FindVersionsAsync(ids)).Should().BeEquivalentTo(new Dictionary<string, long>
        {
            [first.ClientId] = first.Version,
            [second.ClientId] = second.Version,
        });

        (await Clients.SaveAsync(first with { Description = "changed" }, first.Version)).Should().Be(WriteOutcome.Done);
        (await Clients.FindVersionsAsync(ids))[first.ClientId].Should().Be(first.Version + 1);
        (await Clients.FindVersionsAsync([])).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_second_client_with_the_same_id_is_refused_and_the_first_is_kept()
    {
        var first = NewStandard("First");
        (await Clients.CreateAsync(first)).Should().BeTrue();

        (await Clients.CreateAsync(NewStandard("Second") with { ClientId = first.ClientId })).Should().BeFalse();

        (await Clients.FindAsync(first.ClientId))!.Name.Should().Be("First");
    }

    [SkippableFact]
    public async Task Promoting_a_client_to_parent_sets_its_policy_and_limits_it_to_the_code_grant()
    {
        var client = NewStandard("Vendor") with { Metadata = new ClientMetadata { ClientName = "Vendor", GrantTypes = [GrantType.AuthorizationCode, GrantType.ClientCredentials] } };
        await Clients.CreateAsync(client);

        var promoted = client.AsParent(new ParentRole
        {
            RedirectPolicy = RedirectPolicy.Installation, CallbackPath = "/broker/callback", ChildRateLimit = 3000, ChildEndpoints = ["GET /photos", "GET /photos/*"],
        })!;
        (await Clients.SaveAsync(promoted, client.Version)).Should().Be(WriteOutcome.Done);

        var parent = await Clients.FindAsync(client.ClientId);
        var settings = parent!.Role.Should().BeOfType<ParentRole>().Subject;
        parent.Role.Kind.Should().Be(ClientKind.Parent);
        settings.RedirectPolicy.Should().Be(RedirectPolicy.Installation);
        settings.CallbackPath.Should().Be("/broker/callback");
        settings.ChildRateLimit.Should().Be(3000);
        settings.ChildEndpoints.Should().Equal("GET /photos", "GET /photos/*");
        parent.Metadata.GrantTypes.Should().Equal(GrantType.AuthorizationCode);
        parent.Name.Should().Be("Vendor");
    }

    [SkippableFact]
    public async Task A_child_cannot_be_made_a_parent_and_an_unknown_client_cannot_either()
    {
        var child = NewChild(await CreateParentAsync(), await CreateUserAsync());
        await Clients.CreateAsync(child);

        var settings = new ParentRole { RedirectPolicy = RedirectPolicy.Exact, ChildRateLimit = 10 };
        child.AsParent(settings).Should().BeNull();
        var unknown = NewStandard("Unknown");
        (await Clients.SaveAsync(unknown.AsParent(settings)!, unknown.Version)).Should().Be(WriteOutcome.NotFound);

        (await Clients.FindAsync(child.ClientId)).Should().BeEquivalentTo(ToMilliseconds(child), options => options.RespectingRuntimeTypes());
        (await Clients.FindAsync(unknown.ClientId)).Should().BeNull();
    }

    [SkippableFact]
    public async Task A_site_owner_sees_only_their_own_children_newest_first()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var other = await CreateUserAsync();
        var oldest = NewChild(parent, owner, Now.AddMinutes(-2));
        var newest = NewChild(parent, owner, Now);
        // Same creation time: ordered by client id, so pages are stable.
        var tiedA = NewChild(parent, owner, Now.AddMinutes(-1)) with { ClientId = "A" + Secret.NewClientId()[1..] };
        var tiedB = NewChild(parent, owner, Now.AddMinutes(-1)) with { ClientId = "B" + Secret.NewClientId()[1..] };
        foreach (var client in new[] { tiedB, oldest, newest, tiedA, NewChild(parent, other), NewStandard("Not a child") })
        {
            (await Clients.CreateAsync(client)).Should().BeTrue();
        }

        var listed = await Clients.ListChildrenOwnedByAsync(owner.UserId);

        listed.Select(c => c.ClientId).Should().Equal(newest.ClientId, tiedA.ClientId, tiedB.ClientId, oldest.ClientId);
        (await Clients.ListChildrenOwnedByAsync(NewUser().UserId)).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task A_site_owner_revokes_their_own_child_once_and_no_one_elses()
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var stranger = await CreateUserAsync();
        var child = NewChild(parent, owner);
        await Clients.CreateAsync(child);

        (await Clients.RevokeOwnedChildAsync(stranger.UserId, child.ClientId, Now)).Should().BeFalse();
        (await Clients.FindAsync(child.ClientId))!.RevokedAt.Should().BeNull();

        (await Clients.RevokeOwnedChildAsync(owner.UserId, child.ClientId, Now)).Should().BeTrue();
        (await Clients.RevokeOwnedChildAsync(owner.UserId, child.ClientId, Now.AddHours(1))).Should().BeFalse();

        var revoked = await Clients.FindAsync(child.ClientId);
        revoked!.RevokedAt.Should().Be(ToMilliseconds(Now));
        revoked.IsActive.Should().BeFalse();
    }

    [SkippableFact]
    public async Task An_owner_cannot_revoke_a_client_that_is_not_a_child()
    {
        var owner = await CreateUserAsync();
        var standard = NewStandard("Standard");
        await Clients.CreateAsync(standard);

        (await Clients.RevokeOwnedChildAsync(owner.UserId, standard.ClientId, Now)).Should().BeFalse();
        (await Clients.FindAsync(standard.ClientId))!.RevokedAt.Should().BeNull();
    }

    // ---- Users ----

    [SkippableFact]
    public async Task A_user_reads_back_by_id_and_by_normalized_email()
    {
        var user = NewUser() with { DisabledAt = Now.AddDays(1) };
        (await Users.CreateAsync(user)).Should().BeTrue();

        var expected = user with { CreatedAt = ToMilliseconds(user.CreatedAt), DisabledAt = ToMilliseconds(user.DisabledAt!.Value) };
        (await Users.FindAsync(user.UserId)).Should().Be(expected);
        (await Users.FindByEmailAsync(user.NormalizedEmail)).Should().Be(expected);
        (await Users.FindAsync(NewUser().UserId)).Should().BeNull();
        (await Users.FindByEmailAsync("nobody@example.com")).Should().BeNull();
    }

    [SkippableFact]
    public async Task An_email_address_belongs_to_one_account_whatever_its_case()
    {
        var first = NewUser("Owner@Example.com");
        (await Users.CreateAsync(first)).Should().BeTrue();

        var second = NewUser("OWNER@example.COM");
        (await Users.CreateAsync(second)).Should().BeFalse();
        (await Users.CreateAsync(NewUser() with { UserId = first.UserId })).Should().BeFalse();

        (await Users.FindAsync(second.UserId)).Should().BeNull();
        (await Users.FindByEmailAsync("owner@example.com"))!.UserId.Should().Be(first.UserId);
    }

    // ---- Codes ----

    [SkippableFact]
    public async Task A_code_reads_back_as_written()
    {
        var code = await CreateCodeAsync();
        (await Grants.FindCodeAsync(code.CodeHash)).Should().BeEquivalentTo(code with
        {
            CreatedAt = ToMilliseconds(code.CreatedAt),
            ExpiresAt = ToMilliseconds(code.ExpiresAt),
        });
        (await Grants.FindCodeAsync(Secret.Hash("unknown"))).Should().BeNull();
    }

    [SkippableFact]
    public async Task A_code_is_redeemed_once_and_a_replay_stores_nothing()
    {
        var code = await CreateCodeAsync();
        var first = NewToken(code, TokenPurpose.Installation);
        var replay = NewToken(code, TokenPurpose.Installation);

        (await Grants.RedeemCodeAsync(code.CodeHash, first, Now)).Should().BeTrue();
        (await Grants.RedeemCodeAsync(code.CodeHash, replay, Now.AddSeconds(1))).Should().BeFalse();

        (await Grants.FindCodeAsync(code.CodeHash))!.RedeemedAt.Should().Be(ToMilliseconds(Now));
        (await Grants.FindTokenAsync(first.TokenHash)).Should().BeEquivalentTo(ToMilliseconds(first));
        (await Grants.FindTokenAsync(replay.TokenHash)).Should().BeNull();
    }

    [SkippableFact]
    public async Task An_unknown_code_redeems_nothing()
    {
        var parent = await CreateParentAsync();
        var token = NewToken(parent.ClientId, null, TokenPurpose.Access);
        (await Grants.RedeemCodeAsync(Secret.Hash("unknown"), token, Now)).Should().BeFalse();
        (await Grants.FindTokenAsync(token.TokenHash)).Should().BeNull();
    }

    [SkippableFact]
    public async Task Twenty_racing_redemptions_of_one_code_issue_exactly_one_token()
    {
        var code = await CreateCodeAsync();
        var tokens = Enumerable.Range(0, Racers).Select(_ => NewToken(code, TokenPurpose.Installation)).ToList();

        var results = await RaceAsync(Racers, i => Grants.RedeemCodeAsync(code.CodeHash, tokens[i], Now));

        results.Count(redeemed => redeemed).Should().Be(1);
        var stored = await Task.WhenAll(tokens.Select(token => Grants.FindTokenAsync(token.TokenHash)));
        stored.OfType<AccessToken>().Should().ContainSingle()
            .Which.TokenHash.Should().Be(tokens[Array.IndexOf(results, true)].TokenHash);
    }

    // ---- Installation tokens ----

    [SkippableFact]
    public async Task Spending_an_installation_token_creates_the_child_and_records_the_spend()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var child = NewChild(parent, owner);

        (await Grants.SpendInstallationTokenAsync(token.TokenHash, "key-1", "fingerprint-1", child, Now)).Should().Be(SpendOutcome.Created);

        (await Clients.FindAsync(child.ClientId)).Should().BeEquivalentTo(ToMilliseconds(child), options => options.RespectingRuntimeTypes());
        var spent = await Grants.FindTokenAsync(token.TokenHash);
        spent!.SpentAt.Should().Be(ToMilliseconds(Now));
        spent.ChildClientId.Should().Be(child.ClientId);
        spent.IdempotencyKey.Should().Be("key-1");
        spent.RequestFingerprint.Should().Be("fingerprint-1");
        spent.IsUsableAt(Now).Should().BeFalse();
    }

    [SkippableFact]
    public async Task Twenty_racing_spends_of_one_token_create_exactly_one_child()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var children = Enumerable.Range(0, Racers).Select(_ => NewChild(parent, owner)).ToList();

        var outcomes = await RaceAsync(Racers, i => Grants.SpendInstallationTokenAsync(token.TokenHash, null, $"body-{i}", children[i], Now));

        outcomes.Count(outcome => outcome == SpendOutcome.Created).Should().Be(1);
        var winner = children[Array.IndexOf(outcomes, SpendOutcome.Created)];
        var found = await Task.WhenAll(children.Select(child => Clients.FindAsync(child.ClientId)));
        found.OfType<Client>().Should().ContainSingle().Which.ClientId.Should().Be(winner.ClientId);
        (await Grants.FindTokenAsync(token.TokenHash))!.ChildClientId.Should().Be(winner.ClientId);
        (await Clients.ListChildrenOwnedByAsync(owner.UserId)).Should().ContainSingle();
    }

    public static TheoryData<string> UnusableTokens() =>
        ["expired", "expiring this millisecond", "revoked", "already spent", "ordinary access token", "unknown"];

    [SkippableTheory]
    [MemberData(nameof(UnusableTokens))]
    public async Task An_unusable_token_is_not_spent_and_no_child_appears(string why)
    {
        var parent = await CreateParentAsync();
        var owner = await CreateUserAsync();
        var token = NewToken(parent.ClientId, owner.UserId, TokenPurpose.Installation);
        token = why switch
        {
            "expired" => token with { ExpiresAt = Now.AddMinutes(-1) },
            "expiring this millisecond" => token with { ExpiresAt = Now },
            "revoked" => token with { RevokedAt = Now.AddMinutes(-1) },
            "already spent" => token with { SpentAt = Now.AddMinutes(-1) },
            "ordinary access token" => token with { Purpose = TokenPurpose.Access },
            "unknown" => token,
            _ => throw new ArgumentOutOfRangeException(nameof(why)),
        };
        if (why != "unknown")
        {
            token = await StoreTokenAsync(token);
        }
        var child = NewChild(parent, owner);

        (await Grants.SpendInstallationTokenAsync(token.TokenHash, "key", "body", child, Now)).Should().Be(SpendOutcome.TokenNotUsable);

        (await Clients.FindAsync(child.ClientId)).Should().BeNull();
        var after = await Grants.FindTokenAsync(token.TokenHash);
        if (why == "unknown")
        {
            after.Should().BeNull();
        }
        else
        {
            after.Should().BeEquivalentTo(ToMilliseconds(token));
        }
    }

    [SkippableFact]
    public async Task A_token_is_spendable_until_its_last_millisecond()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync(expiresAt: Now.AddMilliseconds(1));
        (await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "body", NewChild(parent, owner), Now)).Should().Be(SpendOutcome.Created);
    }

    [SkippableFact]
    public async Task A_replayed_code_revokes_its_token_and_the_child_that_token_minted()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var child = NewChild(parent, owner);
        await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "body", child, Now);
        var (bystanderToken, _, _) = await CreateInstallationTokenAsync(parent, owner);
        var bystanderChild = NewChild(parent, owner);
        await Grants.SpendInstallationTokenAsync(bystanderToken.TokenHash, null, "body", bystanderChild, Now);

        await Grants.RevokeIssuedForCodeAsync(token.CodeHash!, Now.AddMinutes(1));

        (await Grants.FindTokenAsync(token.TokenHash))!.RevokedAt.Should().Be(ToMilliseconds(Now.AddMinutes(1)));
        (await Clients.FindAsync(child.ClientId))!.RevokedAt.Should().Be(ToMilliseconds(Now.AddMinutes(1)));
        (await Grants.FindTokenAsync(bystanderToken.TokenHash))!.RevokedAt.Should().BeNull();
        (await Clients.FindAsync(bystanderChild.ClientId))!.IsActive.Should().BeTrue();
    }

    [SkippableFact]
    public async Task A_replayed_code_revokes_an_unspent_token_which_then_cannot_be_spent()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();

        await Grants.RevokeIssuedForCodeAsync(token.CodeHash!, Now);

        var child = NewChild(parent, owner);
        (await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "body", child, Now)).Should().Be(SpendOutcome.TokenNotUsable);
        (await Clients.FindAsync(child.ClientId)).Should().BeNull();
    }

    [SkippableFact]
    public async Task Revoking_twice_keeps_the_first_revocation_time()
    {
        var (token, parent, owner) = await CreateInstallationTokenAsync();
        var child = NewChild(parent, owner);
        await Grants.SpendInstallationTokenAsync(token.TokenHash, null, "body", child, Now);

        await Grants.RevokeIssuedForCodeAsync(token.CodeHash!, Now);
        await Grants.RevokeIssuedForCodeAsync(token.CodeHash!, Now.AddHours(1));

        (await Grants.FindTokenAsync(token.TokenHash))!.RevokedAt.Should().Be(ToMilliseconds(Now));
        (await Clients.FindAsync(child.ClientId))!.RevokedAt.Should().Be(ToMilliseconds(Now));
    }

    // ---- Helpers ----

    /// <summary>Each table of a freshly migrated SQLite database, with its columns as "name NULL|NOT NULL" in order.</summary>
    private static async Task<Dictionary<string, List<string>>> SqliteSchemaAsync()
    {
        var path = Path.Combine(Path.GetTempPath(), $"broker-reference-{Guid.NewGuid():N}.db");
        var sqlite = new Database(new SqliteDialect(), $"Data Source={path};Pooling=False");
        try
        {
            await new MigrationRunner(sqlite).MigrateAsync();
            await using var connection = await sqlite.OpenAsync();
            var tables = await connection.QueryAsync<string>(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
            var schema = new Dictionary<string, List<string>>();
            foreach (var table in tables)
            {
                schema[table] = await ColumnsAsync(connection, table);
            }
            return schema;
        }
        finally
        {
            File.Delete(path);
        }
    }

    // Portable: an empty result still describes its columns on every provider.
    private static async Task<List<string>> ColumnsAsync(System.Data.Common.DbConnection connection, string table)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {table} WHERE 1 = 0";
        await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.KeyInfo);
        var columns = await reader.GetColumnSchemaAsync();
        return columns.Select(column => $"{column.ColumnName} {(column.AllowDBNull == false ? "NOT NULL" : "NULL")}").ToList();
    }

    /// <summary>Starts <paramref name="count"/> calls together, each on its own thread, and waits for all.</summary>
    // ---- Registration: the management listing, names, replace, delete, tenant settings ----

    [SkippableFact]
    public async Task Listed_clients_page_by_name_with_exact_matches_first_and_children_and_deleted_left_out()
    {
        foreach (var name in new[] { "Payroll Application", "Payroll", "Billing", "payroll lower", "Payroll Zeta" })
        {
            (await Clients.CreateAsync(NewStandard(name))).Should().BeTrue();
        }
        var owner = await CreateUserAsync();
        var parent = await CreateParentAsync();
        (await Clients.CreateAsync(Renamed(NewChild(parent, owner), "Payroll child"))).Should().BeTrue();
        var deleted = NewStandard("Payroll Deleted");
        await Clients.CreateAsync(deleted);
        (await Clients.SaveAsync(deleted.Deleted(Now), deleted.Version)).Should().Be(WriteOutcome.Done);

        var all = await Clients.ListManagedAsync(null, 100, null);
        all.Select(c => c.Name).Should().Contain(["Billing", "Payroll", parent.Name]).And.NotContain(["Payroll child", "Payroll Deleted"]);

        var search = await Clients.ListManagedAsync("Payroll", 100, null);
        search.Select(c => c.Name).Should().StartWith("Payroll");
        search.Select(c => c.Name).Should().Contain(["Payroll Application", "Payroll Zeta"]).And.NotContain("Billing");

        // Paging by cursor walks the same order without gaps or repeats.
        var walked = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await Clients.ListManagedAsync("Payroll", 1, after);
            if (page.Count == 0)
            {
                break;
            }
            walked.Add(page[0].Name);
            after = page[0].ClientId;
        }
        walked.Should().Equal(search.Select(c => c.Name));

        // And without a query, two at a time, over everything listed.
        var everything = new List<string>();
        after = null;
        while (true)
        {
            var page = await Clients.ListManagedAsync(null, 2, after);
            everything.AddRange(page.Select(c => c.ClientId));
            if (page.Count < 2)
            {
                break;
            }
            after = page[^1].ClientId;
        }
        everything.Should().Equal(all.Select(c => c.ClientId));
    }

    [SkippableFact]
    public async Task Names_of_listed_clients_are_unique_but_children_may_share_one()
    {
        (await Clients.CreateAsync(NewStandard("Unique Name"))).Should().BeTrue();
        (await Clients.CreateAsync(NewStandard("Unique Name"))).Should().BeFalse();
        var owner = await CreateUserAsync();
        var parent = await CreateParentAsync();
        (await Clients.CreateAsync(Renamed(NewChild(parent, owner), "Same Blog"))).Should().BeTrue();
        (await Clients.CreateAsync(Renamed(NewChild(parent, owner), "Same Blog"))).Should().BeTrue();
    }

    [SkippableFact]
    public async Task Racing_creations_with_their_audit_entries_keep_names_unique_and_each_entry_with_its_client()
    {
        // Twenty callers at once, half of them after the same name: on SQLite they share commits.
        var results = await RaceAsync(Racers, i =>
        {
            var client = NewStandard(i % 2 == 0 ? "Contested" : $"Free {i}");
            var entry = new AuditEntry { At = Now, Actor = "test", Action = AuditActions.ClientCreated, Target = AuditActions.Client(client.ClientId) };
            return Clients.CreateAsync(client, entry).ContinueWith(task => (client.ClientId, Created: task.Result), TaskScheduler.Default);
        });
        results.Count(r => r.Created).Should().Be(Racers / 2 + 1);
        var audit = new AuditStore(Database);
        var entries = (await audit.QueryAsync(new AuditQuery { Action = AuditActions.ClientCreated, Limit = 100 })).Items;
        entries.Select(e => e.Target).Should().BeEquivalentTo(results.Where(r => r.Created).Select(r => AuditActions.Client(r.ClientId)));
        foreach (var (clientId, created) in results)
        {
            (await Clients.FindAsync(clientId) is not null).Should().Be(created);
        }
    }

    [SkippableFact]
    public async Task Replacing_a_client_changes_its_metadata_and_refuses_a_taken_name()
    {
        var first = NewStandard("First");
        var second = NewStandard("Second");
        await Clients.CreateAsync(first);
        await Clients.CreateAsync(second);
        var changed = second.WithMetadata(second.Metadata with
        {
            ClientName = "Second v2", RedirectUris = ["https://v2.example/cb"], LogoUri = "https://v2.example/logo.png", Contacts = ["a@v2.example"],
        });
        (await Clients.SaveAsync(changed, second.Version)).Should().Be(WriteOutcome.Done);
        var read = await Clients.FindAsync(second.ClientId);
        read!.Name.Should().Be("Second v2");
        read.Metadata.LogoUri.Should().Be("https://v2.example/logo.png");
        read.Metadata.Contacts.Should().Equal("a@v2.example");
        (await Clients.SaveAsync(Renamed(read, "First"), read.Version)).Should().Be(WriteOutcome.Conflict);
        var ghost = NewStandard("Ghost");
        (await Clients.SaveAsync(ghost, ghost.Version)).Should().Be(WriteOutcome.NotFound);
    }

    [SkippableFact]
    public async Task Deleting_a_client_stops_it_frees_its_name_and_happens_once()
    {
        var client = NewStandard("Doomed") with { Source = RegistrationSource.Open };
        await Clients.CreateAsync(client);
        (await Clients.CountOpenRegisteredAsync()).Should().Be(1);
        (await Clients.SaveAsync(client.Deleted(Now), client.Version)).Should().Be(WriteOutcome.Done);
        (await Clients.SaveAsync(client.Deleted(Now), client.Version)).Should().Be(WriteOutcome.NotFound);
        var read = await Clients.FindAsync(client.ClientId);
        read!.IsActive.Should().BeFalse();
        read.DeletedAt.Should().Be(ToMilliseconds(Now));
        (await Clients.CountOpenRegisteredAsync()).Should().Be(0);
        (await Clients.CreateAsync(NewStandard("Doomed"))).Should().BeTrue();
    }

    [SkippableFact]
    public async Task Tenant_settings_are_absent_until_set_and_keep_the_last_value_under_racing_writers_each_with_its_audit_entry()
    {
        var settings = new TenantSettingsStore(Database);
        (await settings.GetAsync("flag")).Should().BeNull();
        // Racing first writers meet on the key: the loser must update on its second pass, not fail.
        await RaceAsync(Racers, async i =>
        {
            await settings.SetAsync("flag", i % 2 == 0 ? "true" : "false", Entry(AuditActions.SettingsChanged, "tenant:flag"));
            return 0;
        });
        (await settings.GetAsync("flag")).Should().BeOneOf("true", "false");
        await settings.SetAsync("flag", "true", Entry(AuditActions.SettingsChanged, "tenant:flag"));
        (await settings.GetAsync("flag")).Should().Be("true");
        (await AuditCountAsync()).Should().Be(Racers + 1, "every setting written commits with its audit entry");
    }

    protected static async Task<T[]> RaceAsync<T>(int count, Func<int, Task<T>> call)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racers = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await call(i);
        })).ToArray();
        start.SetResult();
        return await Task.WhenAll(racers);
    }

    protected static DateTimeOffset ToMilliseconds(DateTimeOffset time) =>
        DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    private static DateTimeOffset? ToMilliseconds(DateTimeOffset? time) => time is null ? null : ToMilliseconds(time.Value);

    private static Client ToMilliseconds(Client client) => client with
    {
        CreatedAt = ToMilliseconds(client.CreatedAt),
        RevokedAt = ToMilliseconds(client.RevokedAt),
        DisabledAt = ToMilliseconds(client.DisabledAt),
    };

    private static AccessToken ToMilliseconds(AccessToken token) => token with
    {
        CreatedAt = ToMilliseconds(token.CreatedAt),
        ExpiresAt = ToMilliseconds(token.ExpiresAt),
        RevokedAt = ToMilliseconds(token.RevokedAt),
        SpentAt = ToMilliseconds(token.SpentAt),
    };

    private static User NewUser(string? email = null)
    {
        email ??= $"{Guid.NewGuid():N}@example.com";
        return new User
        {
            UserId = Guid.NewGuid().ToString("N"),
            Email = email,
            NormalizedEmail = AccountRules.Normalize(email),
            PasswordHash = "AQAAAAIAAYagAAAAEhash",
            CreatedAt = Now,
        };
    }

    protected async Task<User> CreateUserAsync()
    {
        var user = NewUser();
        (await Users.CreateAsync(user)).Should().BeTrue();
        return user;
    }

    private static Client NewStandard(string name) => new()
    {
        ClientId = Secret.NewClientId(),
        SecretHash = Secret.Hash(Secret.NewToken()),
        Metadata = new ClientMetadata { ClientName = name, RedirectUris = ["https://app.example.com/callback"] },
        CreatedAt = Now,
    };

    private static Client Renamed(Client client, string name) => client with { Metadata = client.Metadata with { ClientName = name } };

    // Every metadata field set, lists out of order, so that a read-back shows each column kept as written.
    private static ClientMetadata FullMetadata(string name) => new()
    {
        ClientName = name,
        ClientUri = "https://app.example/",
        LogoUri = "https://app.example/logo.png",
        ApplicationType = ApplicationTypes.Native,
        RedirectUris = ["https://b.example/cb", "https://a.example/cb", "com.example.app:/x"],
        PostLogoutRedirectUris = ["https://b.example/out", "https://a.example/out"],
        ResponseTypes = ["code", "id_token"],
        GrantTypes = [GrantType.AuthorizationCode, GrantType.RefreshToken],
        TokenEndpointAuthMethod = ClientAuthMethod.ClientSecretPost,
        InitiateLoginUri = "https://app.example/login",
        TosUri = "https://app.example/tos",
        PolicyUri = "https://app.example/policy",
        Contacts = ["b@app.example", "a@app.example"],
    };

    private async Task<Client> CreateParentAsync()
    {
        var parent = NewStandard("Plugin") with
        {
            Role = new ParentRole
            {
                RedirectPolicy = RedirectPolicy.Installation,
                CallbackPath = "/broker/callback",
                ChildRateLimit = 3000,
                ChildEndpoints = EndpointPattern.DefaultChildEndpoints,
            },
        };
        (await Clients.CreateAsync(parent)).Should().BeTrue();
        return parent;
    }

    private static Client NewChild(Client parent, User owner, DateTimeOffset? createdAt = null) => new()
    {
        ClientId = Secret.NewClientId(),
        Metadata = new ClientMetadata { ClientName = "Installation", GrantTypes = [], TokenEndpointAuthMethod = ClientAuthMethod.None },
        Description = "A site",
        Role = new InstallationRole
        {
            ParentClientId = parent.ClientId,
            OwnerUserId = owner.UserId,
            Origin = "https://site.example",
            RateLimit = (parent.Role as ParentRole)?.ChildRateLimit,
            Endpoints = (parent.Role as ParentRole)?.ChildEndpoints,
        },
        CreatedAt = createdAt ?? Now,
    };

    private async Task<AuthorizationCode> CreateCodeAsync(Client? parent = null, User? owner = null)
    {
        parent ??= await CreateParentAsync();
        owner ??= await CreateUserAsync();
        var code = new AuthorizationCode
        {
            CodeHash = Secret.Hash(Secret.NewToken()),
            ClientId = parent.ClientId,
            UserId = owner.UserId,
            RedirectUri = "https://site.example/broker/callback",
            Scope = AuthorizationRules.PublicScope,
            CodeChallenge = Pkce.ChallengeOf(new string('v', 43)),
            CreatedAt = Now,
            ExpiresAt = Now.AddMinutes(10),
        };
        await Grants.CreateCodeAsync(code);
        return code;
    }

    private static AccessToken NewToken(AuthorizationCode code, TokenPurpose purpose) =>
        NewToken(code.ClientId, code.UserId, purpose) with { CodeHash = code.CodeHash };

    private static AccessToken NewToken(string clientId, string? userId, TokenPurpose purpose) => new()
    {
        TokenHash = Secret.Hash(Secret.NewToken()),
        ClientId = clientId,
        UserId = userId,
        Scope = AuthorizationRules.PublicScope,
        Purpose = purpose,
        Origin = "https://site.example",
        CreatedAt = Now.AddSeconds(-1),
        ExpiresAt = Now.AddMinutes(10),
    };

    // Stores a token as the token endpoint does: by redeeming a code issued for it.
    private async Task<AccessToken> StoreTokenAsync(AccessToken token)
    {
        var code = await CreateCodeAsync(await Clients.FindAsync(token.ClientId), await Users.FindAsync(token.UserId!));
        var stored = token with { CodeHash = code.CodeHash };
        (await Grants.RedeemCodeAsync(code.CodeHash, stored, Now)).Should().BeTrue();
        return stored;
    }

    private async Task<(AccessToken Token, Client Parent, User Owner)> CreateInstallationTokenAsync(
        Client? parent = null, User? owner = null, DateTimeOffset? expiresAt = null)
    {
        var code = await CreateCodeAsync(parent, owner);
        var token = NewToken(code, TokenPurpose.Installation) with { ExpiresAt = expiresAt ?? Now.AddMinutes(10) };
        (await Grants.RedeemCodeAsync(code.CodeHash, token, Now)).Should().BeTrue();
        return (token, (await Clients.FindAsync(code.ClientId))!, (await Users.FindAsync(code.UserId))!);
    }
}
