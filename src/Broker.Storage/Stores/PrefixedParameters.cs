using System.Data;
using System.Data.Common;
using Dapper;

namespace Broker.Storage.Stores;

/// <summary>
/// Dapper parameters sent under their full <c>@name</c>, for the statements on the hot write path.
/// Dapper names parameters bare, and Microsoft.Data.Sqlite looks a bare name up four times (as given,
/// then with each of <c>@</c>, <c>$</c> and <c>:</c>, to refuse an ambiguous one), each a scan of the
/// statement's parameter list with a UTF-8 copy of the name: for a client insert that was a fifth of
/// the write's CPU. SQL Server and Npgsql take the prefixed name as it is.
/// </summary>
internal sealed class PrefixedParameters : SqlMapper.IDynamicParameters
{
    // Dapper's own rule: strings up to 4000 characters are sent as 4000 wide, so that SQL Server
    // keeps one plan per statement whatever the lengths of the values.
    private const int StringSize = 4000;

    private readonly List<(string Name, object Value)> values = [];

    /// <summary>Adds a parameter; a null value is sent as SQL NULL.</summary>
    public PrefixedParameters Add(string name, object? value)
    {
        values.Add((name, value ?? DBNull.Value));
        return this;
    }

    public void AddParameters(IDbCommand command, SqlMapper.Identity identity)
    {
        foreach (var (name, value) in values)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            parameter.Value = value;
            if (value is string text)
            {
                parameter.DbType = DbType.String;
                parameter.Size = text.Length <= StringSize ? StringSize : -1;
            }
            command.Parameters.Add(parameter);
        }
    }
}

/// <summary>
/// A statement and its parameters, built before the writer's turn: on SQLite every write waits for the
/// one before it, so whatever can be prepared outside that queue is.
/// </summary>
internal sealed record PreparedStatement(string Sql, PrefixedParameters Parameters)
{
    public CommandDefinition Command(DbTransaction? transaction, CancellationToken cancellationToken) =>
        new(Sql, Parameters, transaction, cancellationToken: cancellationToken);
}
