using Broker.Core.Stores;
using Broker.Core.Platform;
using System.Reflection;
using Broker.Core.Accounts;
using Broker.Core.Authorization;
using Broker.Core.Clients;
using Broker.Core.Security;
using Broker.Core.Tokens;
using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace Broker.Storage.Tests;

/// <summary>
/// SQL Server cannot run on every machine, so every T-SQL text the broker can send is parsed by
/// ScriptDom here, always: the embedded migrations, the migration runner's and readiness commands, and
/// every command of every public store method, recorded by calling each through connections that
/// reach no server. Methods and stores are found by reflection, so a new one cannot be left out.
/// Store commands are further held to the portable subset: every column they name is one the
/// migrations create (so a <c>TRUE</c> literal, which T-SQL would read as a column, is caught) and
/// every function is one the three providers share.
/// </summary>
public sealed class SqlServerScriptTests
{
    internal const string StoresNamespace = "Broker.Storage.Stores";
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private static readonly Assembly Storage = typeof(Database).Assembly;

    [Fact]
    public void Every_provider_has_a_twin_of_every_migration()
    {
        var sqlite = MigrationFiles("Sqlite");
        sqlite.Should().NotBeEmpty();
        MigrationFiles("Postgres").Should().BeEquivalentTo(sqlite, "each SQLite migration needs its PostgreSQL port");
        MigrationFiles("SqlServer").Should().BeEquivalentTo(sqlite, "each SQLite migration needs its SQL Server port");
    }

    [Fact]
    public void Every_SqlServer_migration_parses_as_TSql()
    {
        var migrations = new MigrationRunner(new Database(new SqlServerDialect(), "")).Migrations();
        migrations.Should().NotBeEmpty();
        foreach (var migration in migrations)
        {
            ParseErrors(migration.Sql).Should().BeEmpty($"V{migration.Version:000}_{migration.Name} must be T-SQL");
        }
    }

    [Fact]
    public void A_SqlServer_script_is_sent_as_the_batches_between_its_GO_lines()
    {
        const string script = "ALTER TABLE t ADD goal BIGINT NULL;\r\n  go  \r\nUPDATE t SET goal = 0; -- GO on\nGO -- next\n\nGO\n";

        new SqlServerDialect().SplitScript(script).Select(batch => batch.Trim())
            .Should().Equal("ALTER TABLE t ADD goal BIGINT NULL;", "UPDATE t SET goal = 0; -- GO on");
        new PostgresDialect().SplitScript(script).Should().Equal(script);
        new SqliteDialect().SplitScript(script).Should().Equal(script);
    }

    [Fact]
    public async Task The_migration_runner_and_readiness_send_only_TSql()
    {
        var dialect = new RecordingDialect(new SqlServerDialect());
        var database = new Database(dialect, "");

        // The recording connection says no migration is applied yet, so every batch of every one is sent.
        await new MigrationRunner(database).MigrateAsync();
        await database.ProbeWriteAsync(TimeSpan.FromSeconds(3));

        dialect.Commands.Should().Contain(dialect.WriteProbeSql).And.Contain(dialect.CreateMigrationsTableSql).And.Contain(dialect.MigrationLockSql!);
        ShouldAllParse(dialect.Commands);
    }

    [Fact]
    public async Task Every_command_the_stores_send_on_SqlServer_parses_as_TSql()
    {
        var stores = Storage.GetTypes()
            .Where(type => type is { IsPublic: true, IsClass: true, IsAbstract: false, Namespace: StoresNamespace })
            .ToList();
        stores.Should().HaveCountGreaterThanOrEqualTo(3);
        var dialect = new RecordingDialect(new SqlServerDialect());
        var database = new Database(dialect, "");

        foreach (var storeType in stores)
        {
            var store = Construct(storeType, database);
            var methods = storeType.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Where(method => !method.IsSpecialName);
            foreach (var method in methods)
            {
                // Both answers a conditional statement can get, so that the commands after either are sent too.
                foreach (var affectedRows in new[] { 1, 0 })
                {
                    dialect.AffectedRows = affectedRows;
                    var before = dialect.Commands.Count;
                    await InvokeAsync(store, method);
                    dialect.Commands.Count.Should().BeGreaterThan(before, $"{storeType.Name}.{method.Name} should send SQL");
                }
            }
        }

        ShouldAllParse(dialect.Commands);
        // The gateway keeps a cached key whose version and parent's version have not moved (ClientCache):
        // every write of a client must move its version, the last-use time alone excepted.
        dialect.Commands.Distinct().Where(sql => sql.Contains("UPDATE clients", StringComparison.OrdinalIgnoreCase)
                && !sql.Contains("SET last_used_at = @At", StringComparison.Ordinal))
            .Should().NotBeEmpty().And.OnlyContain(sql => sql.Contains("version = version + 1", StringComparison.Ordinal),
                "a write that leaves the version would stay unseen by the gateway's key cache");
        var columns = MigrationColumns();
        foreach (var sql in dialect.Commands.Distinct())
        {
            var visitor = new PortabilityVisitor(columns);
            new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(sql), out _).Accept(visitor);
            visitor.Problems.Should().BeEmpty($"store SQL runs on every provider:\n{sql}");
        }
    }

    private static HashSet<string> MigrationColumns()
    {
        var collector = new ColumnCollector();
        new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(new SqlServerDialect().CreateMigrationsTableSql), out _).Accept(collector);
        foreach (var migration in new MigrationRunner(new Database(new SqlServerDialect(), "")).Migrations())
        {
            new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(migration.Sql), out _).Accept(collector);
        }
        return collector.Columns;
    }

    private sealed class ColumnCollector : TSqlFragmentVisitor
    {
        public HashSet<string> Columns { get; } = new(StringComparer.OrdinalIgnoreCase);

        public override void Visit(ColumnDefinition node) => Columns.Add(node.ColumnIdentifier.Value);
    }

    private sealed class PortabilityVisitor(HashSet<string> columns) : TSqlFragmentVisitor
    {
        // Same name and meaning in SQLite, PostgreSQL and T-SQL.
        private static readonly HashSet<string> PortableFunctions = new(StringComparer.OrdinalIgnoreCase)
        {
            "COUNT", "SUM", "MIN", "MAX", "AVG", "COALESCE", "NULLIF", "LOWER", "UPPER", "ABS",
        };

        public List<string> Problems { get; } = [];

        public override void Visit(ColumnReferenceExpression node)
        {
            if (node is { ColumnType: ColumnType.Regular, MultiPartIdentifier.Identifiers: [.., var last] } && !columns.Contains(last.Value))
            {
                Problems.Add($"'{last.Value}' is no column of the migrations (booleans and other literals go in parameters)");
            }
        }

        public override void Visit(FunctionCall node)
        {
            if (!PortableFunctions.Contains(node.FunctionName.Value))
            {
                Problems.Add($"{node.FunctionName.Value}() is not one of the functions every provider shares");
            }
        }
    }

    private static void ShouldAllParse(IEnumerable<string> commands)
    {
        foreach (var sql in commands.Distinct())
        {
            ParseErrors(sql).Should().BeEmpty($"this command must be T-SQL:\n{sql}");
        }
    }

    private static List<string> ParseErrors(string sql)
    {
        new TSql160Parser(initialQuotedIdentifiers: true).Parse(new StringReader(sql), out var errors);
        return errors.Select(error => $"line {error.Line}, column {error.Column}: {error.Message}").ToList();
    }

    private static List<string> MigrationFiles(string provider)
    {
        var prefix = $"Broker.Storage.Migrations.{provider}.";
        return Storage.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(name => name[prefix.Length..])
            .ToList();
    }

    internal static object Construct(Type type, Database database)
    {
        var constructor = type.GetConstructors().Should().ContainSingle($"{type.Name} should have one constructor").Subject;
        return constructor.Invoke(constructor.GetParameters()
            .Select(parameter => parameter.ParameterType == typeof(Database) ? database : Sample(parameter, type))
            .ToArray());
    }

    private static async Task InvokeAsync(object store, MethodInfo method)
    {
        // Once per value of an enum parameter: a value may choose its own SQL (a retention kind does).
        var parameters = method.GetParameters();
        var choice = Array.FindIndex(parameters, parameter => (Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType).IsEnum);
        var choices = choice < 0 ? [null] : Enum.GetValues(Nullable.GetUnderlyingType(parameters[choice].ParameterType) ?? parameters[choice].ParameterType).Cast<object?>().ToArray();
        foreach (var chosen in choices)
        {
            var arguments = parameters.Select(parameter => Sample(parameter, store.GetType())).ToArray();
            if (choice >= 0)
            {
                arguments[choice] = chosen;
            }
            var task = method.Invoke(store, arguments) as Task
                ?? throw new InvalidOperationException($"{store.GetType().Name}.{method.Name} is not asynchronous; stores' methods return tasks");
            try
            {
                await task;
            }
            catch (InvalidOperationException exception) when (exception.Message.Contains("affected 0 rows", StringComparison.Ordinal))
            {
                // A store refusing a zero-row answer is right; the command it refused is recorded.
            }
        }
    }

    // A value of every type a store method takes; a new type must be added here, or the test fails loudly.
    internal static object? Sample(ParameterInfo parameter, Type store)
    {
        var type = Nullable.GetUnderlyingType(parameter.ParameterType) ?? parameter.ParameterType;
        return type switch
        {
            _ when type == typeof(string) => Secret.NewClientId(),
            _ when type == typeof(int) => 1,
            _ when type == typeof(long) => 1L,
            _ when type == typeof(bool) => true,
            _ when type == typeof(DateTimeOffset) => Now,
            _ when type == typeof(TimeSpan) => TimeSpan.FromMinutes(1),
            _ when type == typeof(CancellationToken) => CancellationToken.None,
            _ when type == typeof(IReadOnlyList<string>) => new[] { "GET /a" },
            _ when type.IsEnum => Enum.GetValues(type).GetValue(0),
            _ when type == typeof(Client) => new Client { ClientId = Secret.NewClientId(), Metadata = new ClientMetadata { ClientName = "Sample" }, CreatedAt = Now },
            _ when type == typeof(User) => new User
            {
                UserId = Guid.NewGuid().ToString("N"),
                Email = "a@example.com",
                NormalizedEmail = "a@example.com",
                PasswordHash = "hash",
                CreatedAt = Now,
            },
            _ when type == typeof(AuthorizationCode) => new AuthorizationCode
            {
                CodeHash = Secret.Hash("code"),
                ClientId = Secret.NewClientId(),
                UserId = Guid.NewGuid().ToString("N"),
                RedirectUri = "https://site.example/cb",
                Scope = AuthorizationRules.PublicScope,
                CreatedAt = Now,
                ExpiresAt = Now.AddMinutes(10),
            },
            _ when type == typeof(AccessToken) => new AccessToken
            {
                TokenHash = Secret.Hash("token"),
                ClientId = Secret.NewClientId(),
                Scope = AuthorizationRules.PublicScope,
                Purpose = TokenPurpose.Installation,
                CreatedAt = Now,
            },
            _ when type == typeof(AdminToken) => new AdminToken
            {
                TokenId = Guid.NewGuid().ToString("N"),
                Name = "sample",
                TokenHash = Secret.Hash("admin"),
                Fingerprint = "abcd",
                Scopes = AdminScopes.All,
                CreatedAt = Now,
            },
            _ when type == typeof(TrustedIssuer) => new TrustedIssuer
            {
                Issuer = "https://vendor.example", VendorName = "Vendor", Jwks = """{"keys":[]}""", CreatedAt = Now,
            },
            _ when type == typeof(SigningKey) => new SigningKey
            {
                KeyId = "kid",
                Generation = 1,
                Algorithm = "RS256",
                PublicJwk = "{}",
                ProtectedPrivateKey = "protected",
                CreatedAt = Now,
                SignsFrom = Now,
            },
            _ when type == typeof(PasswordReset) => new PasswordReset
            {
                TokenHash = Secret.Hash("reset"),
                UserId = Guid.NewGuid().ToString("N"),
                CreatedAt = Now,
                ExpiresAt = Now.AddMinutes(30),
            },
            _ when type == typeof(Func<int, AuditEntry>) => new Func<int, AuditEntry>(count => new AuditEntry { At = Now, Actor = "cli", Action = "client.deleted", Target = $"tenant:{count}" }),
            _ when type == typeof(Broker.Core.Webhooks.WebhookSubscription) => new Broker.Core.Webhooks.WebhookSubscription
            {
                Id = "wh1", Url = "https://hooks.example/in", EventTypes = ["client.created"], ProtectedSecret = "protected", CreatedAt = Now,
            },
            _ when type == typeof(AuditEntry) => new AuditEntry { At = Now, Actor = "cli", Action = "client.created", Target = Secret.NewClientId() },
            // Every filter set, so that every optional condition of the query is sent and parsed.
            _ when type == typeof(AuditQuery) => new AuditQuery
            {
                From = Now.AddDays(-1), To = Now, Actor = "cli", Action = "client.created", Target = "x", Limit = 10, Before = 5,
            },
            // Every filter set, so that every optional condition of the search is sent and parsed.
            _ when type == typeof(ParentSearch) => new ParentSearch("Ghost", Guid.NewGuid().ToString("N")),
            _ when type == typeof(UsageScope) => UsageScope.OfParent(Secret.NewClientId()),
            _ when type == typeof(IReadOnlyList<UsageHour>) => new List<UsageHour>
            {
                new() { ClientId = Secret.NewClientId(), ParentClientId = Secret.NewClientId(), Hour = UsageHour.HourOf(Now), Admitted = 1 },
            },
            _ => throw new InvalidOperationException(
                $"No sample for parameter {parameter.Name} ({parameter.ParameterType}) of {store.Name}: add one to {nameof(Sample)}"),
        };
    }
}
