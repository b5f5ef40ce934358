using System.Data;
using System.Data.Common;
using Dapper;

namespace Broker.Storage;

/// <summary>
/// One SQL statement and its parameter values, built before it runs: on SQLite every write waits for
/// the one before it, so whatever can be prepared outside that queue is. Parameters are named as the
/// SQL names them, without the <c>@</c>.
/// </summary>
/// <remarks>
/// Through Dapper the parameters are sent under their full <c>@name</c>. Dapper names parameters bare,
/// and Microsoft.Data.Sqlite looks a bare name up four times (as given, then with each of <c>@</c>,
/// <c>$</c> and <c>:</c>, to refuse an ambiguous one), each a scan of the statement's parameter list
/// with a UTF-8 copy of the name: for a client insert that was a fifth of the write's CPU. SQL Server
/// and Npgsql take the prefixed name as it is.
/// </remarks>
public sealed class Statement(string sql) : SqlMapper.IDynamicParameters
{
    // Dapper's own rule: strings up to 4000 characters are sent as 4000 wide, so that SQL Server
    // keeps one plan per statement whatever the lengths of the values.
    private const int StringSize = 4000;

    private readonly List<(string Name, object Value)> parameters = [];

    public string Sql { get; } = sql;

    public IReadOnlyList<(string Name, object Value)> Parameters => parameters;

    /// <summary>Adds a parameter; a null value is sent as SQL NULL.</summary>
    public Statement With(string name, object? value)
    {
        parameters.Add((name, value ?? DBNull.Value));
        return this;
    }

    /// <summary>
    /// Runs the statements of one write in order through <paramref name="execute"/> (which answers the
    /// rows changed); false as soon as one changes no row, for the caller to undo the write.
    /// </summary>
    internal static async Task<bool> RunAllAsync(IReadOnlyList<Statement> statements, Func<Statement, Task<int>> execute)
    {
        foreach (var statement in statements)
        {
            // An unknown count (-1: SQL Server with NOCOUNT on) is not a changed row: a one-time write
            // must fail closed rather than spend twice.
            if (await execute(statement) <= 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The statement for Dapper, in <paramref name="transaction"/>.</summary>
    public CommandDefinition Command(DbTransaction? transaction, CancellationToken cancellationToken) =>
        new(Sql, this, transaction, cancellationToken: cancellationToken);

    void SqlMapper.IDynamicParameters.AddParameters(IDbCommand command, SqlMapper.Identity identity) => CreateParameters(command);

    /// <summary>Adds a parameter for each value to a new command (<see cref="SetValues"/> refreshes them).</summary>
    internal void CreateParameters(IDbCommand command)
    {
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "@" + name;
            command.Parameters.Add(parameter);
        }
        SetValues(command);
    }

    /// <summary>
    /// Puts this statement's values into a command made for the same SQL by <see cref="AddParameters"/>;
    /// false when that command's parameters are not this statement's, name for name.
    /// </summary>
    internal bool SetValues(IDbCommand command)
    {
        if (command.Parameters.Count != parameters.Count)
        {
            return false;
        }
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = (IDbDataParameter)command.Parameters[i]!;
            var (name, value) = parameters[i];
            if (parameter.ParameterName.Length != name.Length + 1 || !parameter.ParameterName.EndsWith(name, StringComparison.Ordinal))
            {
                return false;
            }
            parameter.Value = value;
            if (value is string text)
            {
                parameter.DbType = DbType.String;
                parameter.Size = text.Length <= StringSize ? StringSize : -1;
            }
            else
            {
                // A reused parameter may have held a string: its type and size must not stay (-1: no
                // limit; Microsoft.Data.Sqlite cuts values to any other size it is given, 0 included).
                ((DbParameter)parameter).ResetDbType();
                parameter.Size = -1;
            }
        }
        return true;
    }
}
