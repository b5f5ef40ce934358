using System.Data.Common;
using System.Reflection;
using Broker.Core.Clients;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>
/// The <c>clients</c> table, derived from the client model: every settable property of
/// <see cref="Client"/>, of its <see cref="ClientMetadata"/> and of its role is the column of the same
/// name in snake_case (two older names aside), converted by its type. SELECT, INSERT and every UPDATE
/// of a whole client are built from this one list, so a new metadata property needs only its migration.
/// </summary>
internal static class ClientTable
{
    // Columns named before the model was: the metadata's client_name is the name column, the source registration_source.
    private static readonly Dictionary<string, string> OlderNames = new(StringComparer.Ordinal)
    {
        [nameof(ClientMetadata.ClientName)] = "name",
        [nameof(Client.Source)] = "registration_source",
    };

    // Set once, when the client is created.
    private static readonly HashSet<string> Immutable = ["client_id", "created_at", "registration_source"];

    // Written by the last-use writer alone, only forwards, outside the client's versions (DESIGN.md, Last use).
    private const string LastUsedColumn = "last_used_at";

    private const string VersionColumn = "version";

    private static readonly Column[] CoreColumns = ColumnsOf(typeof(Client));

    private static readonly Column[] MetadataColumns = ColumnsOf(typeof(ClientMetadata));

    // Each role's own columns; a standard application has none (its row keeps the columns' defaults).
    private static readonly Dictionary<ClientKind, (Type Type, Column[] Columns)> Roles =
        new[] { typeof(StandardRole), typeof(ParentRole), typeof(InstallationRole) }
            .ToDictionary(type => ((ClientRole)Activator.CreateInstance(type)!).Kind, type => (type, ColumnsOf(type)));

    // Columns a registrant's choices fill or leave empty (secret, optional URIs): always named in an INSERT, so that
    // what a caller sends cannot vary the statement's text. The SQLite writer keeps one compiled command per text,
    // and a caller cycling through 2^8 texts could keep it compiling.
    private static readonly HashSet<string> AlwaysInserted =
        [.. MetadataColumns.Select(column => column.Name), "secret_hash", "secret_fingerprint", "registration_token_hash"];

    /// <summary>Every column a client is read from, comma-separated.</summary>
    public static readonly string SelectList = string.Join(", ",
        CoreColumns.Concat(MetadataColumns).Concat(Roles.Values.SelectMany(role => role.Columns))
            .Select(column => column.Name).Append("kind").Distinct());

    /// <summary>The <c>kind</c> column's value for a role.</summary>
    public static string KindName(ClientKind kind) => DbValues.Name(kind);

    /// <summary>
    /// The INSERT of a new client, leaving out the columns that hold no value and that only the kind of
    /// client decides (NULL is every nullable column's default). Open registration inserts clients at
    /// thousands a second, and SQLite finds each bound parameter by name in a list as long as the
    /// statement's: the columns left out (a third of them for a registered client) were most of the cost of binding.
    /// </summary>
    public static Statement Insert(Client client)
    {
        var included = Values(client).Where(value => value.Value is not null || AlwaysInserted.Contains(value.Column)).ToList();
        return With(new Statement(
            $"INSERT INTO clients ({string.Join(", ", included.Select(value => value.Column))}) " +
            $"VALUES ({string.Join(", ", included.Select(value => "@" + value.Column))})"), included);
    }

    /// <summary>
    /// The UPDATE writing <paramref name="client"/> whole over the row still at <paramref name="expectedVersion"/>
    /// (compare-and-set), one version further; it changes no row when the client moved on or does not exist.
    /// </summary>
    public static Statement Update(Client client, long expectedVersion)
    {
        var written = Values(client)
            .Where(value => !Immutable.Contains(value.Column) && value.Column is not LastUsedColumn and not VersionColumn)
            .ToList();
        var update = new Statement(
            $"UPDATE clients SET {string.Join(", ", written.Select(value => $"{value.Column} = @{value.Column}"))}, " +
            $"{VersionColumn} = {VersionColumn} + 1 WHERE client_id = @client_id AND {VersionColumn} = @expected_version");
        return With(update, written).With("client_id", client.ClientId).With("expected_version", expectedVersion);
    }

    /// <summary>The clients of a query selecting <see cref="SelectList"/>.</summary>
    public static async Task<IReadOnlyList<Client>> QueryAsync(DbConnection connection, CommandDefinition command) =>
        [.. (await connection.QueryAsync(command)).Select(row => Read((IDictionary<string, object?>)row))];

    /// <summary>The client of a row selecting <see cref="SelectList"/>.</summary>
    public static Client Read(IDictionary<string, object?> row)
    {
        var (roleType, roleColumns) = Roles[Enum.Parse<ClientKind>((string)row["kind"]!, ignoreCase: true)];
        var client = Build<Client>(typeof(Client), row, CoreColumns);
        return client with
        {
            Metadata = Build<ClientMetadata>(typeof(ClientMetadata), row, MetadataColumns),
            Role = Build<ClientRole>(roleType, row, roleColumns),
        };
    }

    // Every column's value for this client: its own, its metadata's, its role's, and the two the model decides.
    private static IEnumerable<(string Column, object? Value)> Values(Client client)
    {
        var roleColumns = Roles[client.Role.Kind].Columns;
        return ValuesOf(client, CoreColumns)
            .Concat(ValuesOf(client.Metadata, MetadataColumns))
            .Concat(ValuesOf(client.Role, roleColumns))
            .Append(("kind", KindName(client.Role.Kind)))
            // The name where it must be unique (listed, undeleted clients), else null: children may share names.
            .Append(("name_key", client.Role is InstallationRole || client.DeletedAt is not null ? null : client.Name));
    }

    private static IEnumerable<(string Column, object? Value)> ValuesOf(object instance, Column[] columns) =>
        columns.Select(column => (column.Name, ToDb(column.Property.GetValue(instance))));

    private static Statement With(Statement statement, IEnumerable<(string Column, object? Value)> values)
    {
        foreach (var (column, value) in values)
        {
            statement.With(column, value);
        }
        return statement;
    }

    // An instance of the type with its initialisers' defaults, then every mapped column's value.
    private static T Build<T>(Type type, IDictionary<string, object?> row, Column[] columns)
    {
        var instance = Activator.CreateInstance(type)!;
        foreach (var column in columns)
        {
            column.Property.SetValue(instance, FromDb(row[column.Name], column.Property.PropertyType));
        }
        return (T)instance;
    }

    // The settable properties that are values (not the parts a client is made of), each as its column.
    private static Column[] ColumnsOf(Type type) =>
        [.. type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.SetMethod is not null && property.PropertyType != typeof(ClientMetadata) && property.PropertyType != typeof(ClientRole))
            .Select(property => new Column(OlderNames.GetValueOrDefault(property.Name) ?? SnakeCase(property.Name), property))];

    private static object? ToDb(object? value) => value switch
    {
        DateTimeOffset time => DbValues.Time(time),
        IReadOnlyList<string> list => DbValues.List(list),
        Enum named => DbValues.Name(named),
        int number => (long)number,
        _ => value,
    };

    private static object? FromDb(object? value, Type target)
    {
        if (value is null or DBNull)
        {
            return null;
        }
        var type = Nullable.GetUnderlyingType(target) ?? target;
        return type switch
        {
            _ when type == typeof(DateTimeOffset) => DbValues.Time(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
            _ when type == typeof(IReadOnlyList<string>) => DbValues.List((string)value),
            { IsEnum: true } => Enum.Parse(type, (string)value, ignoreCase: true),
            _ when type == typeof(int) => Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture),
            _ when type == typeof(long) => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
            _ => value,
        };
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select((letter, index) => char.IsUpper(letter) && index > 0 ? "_" + char.ToLowerInvariant(letter) : char.ToLowerInvariant(letter).ToString()));

    private sealed record Column(string Name, PropertyInfo Property);
}
