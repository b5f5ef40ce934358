using System.Data.Common;
using Broker.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>The executable's exit codes, for the server and the commands alike (DESIGN.md, Command line).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command line could not be parsed: an unknown command or option, a missing argument.</summary>
    public const int Usage = 1;

    /// <summary>The command was understood and refused: bad input, an unknown id, a refusal of the admin API.</summary>
    public const int BadInput = 2;

    /// <summary>The configuration is wrong: an unknown setting value, a database path that cannot be used.</summary>
    public const int Configuration = 3;

    /// <summary>Something the broker needs is not there: the database does not answer, the port is taken.</summary>
    public const int Unavailable = 4;
}

/// <summary>
/// Start-up faults an operator fixes rather than a bug: told as one <c>error: …</c> line with the fix
/// and an exit code, never a stack trace. Anything else is a bug and keeps its stack trace.
/// </summary>
public static class StartupFailure
{
    /// <summary>The message and exit code for <paramref name="exception"/> when it is such a fault, else null.</summary>
    public static (string Message, int ExitCode)? Describe(Exception exception, IConfiguration configuration)
    {
        foreach (var fault in Causes(exception))
        {
            switch (fault)
            {
                case OptionsValidationException invalid:
                    return ($"{string.Join(" ", invalid.Failures)} Fix it in appsettings.json or the environment (a setting A:B is the variable A__B).",
                        ExitCodes.Configuration);
                case IOException { InnerException: AddressInUseException } bind:
                    return ($"{bind.Message.TrimEnd('.')}: another process listens there. Stop it, or choose another address with --urls.",
                        ExitCodes.Unavailable);
                case SqliteException { SqliteErrorCode: SqliteCantOpen or SqliteReadOnly } sqlite:
                    return ($"cannot open or write the SQLite database '{SqliteFile(configuration)}' ({sqlite.Message.TrimEnd('.')}). " +
                        "Create its directory and make it writable by this user, or set Storage:ConnectionString.", ExitCodes.Configuration);
                case DatabaseUnavailableException unavailable:
                    return ($"{unavailable.Message}: {unavailable.InnerException?.Message.TrimEnd('.') ?? "no answer"}. " +
                        "Check that the database server runs and that Storage:ConnectionString names it.", ExitCodes.Unavailable);
                case DbException database when RefusesConnection(database):
                    return ($"the database refused: {database.Message.TrimEnd('.')}. Check Storage:ConnectionString (server, database, credentials).",
                        ExitCodes.Unavailable);
            }
        }
        return null;
    }

    // The server refusing the connection itself (credentials, database name, connection limits), as
    // opposed to a statement's error: a failing migration or query is a bug and keeps its stack trace.
    private static bool RefusesConnection(DbException exception) => exception switch
    {
        // SQLSTATE class 08 (connection exception), 28 (invalid authorization), 3D000 (no such database),
        // 53300 (too many connections), 57P03 (cannot connect now).
        Npgsql.PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
            || postgres.SqlState.StartsWith("28", StringComparison.Ordinal) || postgres.SqlState is "3D000" or "53300" or "57P03",
        // Login failed, cannot open the database, untrusted domain login, login-phase faults.
        Microsoft.Data.SqlClient.SqlException sql => sql.Number is 18456 or 4060 or 18452 or 18470 or 18486 or 18487 or 18488,
        // Npgsql's own faults (not the server's answer) are about reaching the server.
        Npgsql.NpgsqlException => true,
        _ => false,
    };

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    // The host's own "Hosting failed to start" (Microsoft.Extensions.Hosting's HostedServiceStartupFaulted).
    private const int HostingFailedToStart = 11;

    /// <summary>
    /// The host's logger, less its "Hosting failed to start" entry for a fault <see cref="Describe"/>
    /// knows: Program.cs tells that one as its single error line, and the host's entry would repeat it
    /// with a stack trace. Every other entry of the host (a background service that failed, a bug at
    /// start-up) is logged as before.
    /// </summary>
    public static ILogger QuietHostLogger(string categoryName, ILogger logger) =>
        categoryName == HostCategory ? new HostLogger(logger) : logger;

    private sealed class HostLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == HostingFailedToStart && exception is not null && Describe(exception, EmptyConfiguration) is not null)
            {
                return;
            }
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }

    private static readonly IConfiguration EmptyConfiguration = new ConfigurationBuilder().Build();

    private const int SqliteCantOpen = 14;
    private const int SqliteReadOnly = 8;

    // The fault and what caused it, outermost first (the host wraps start-up faults).
    private static IEnumerable<Exception> Causes(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            yield return current;
            if (current is AggregateException { InnerExceptions.Count: 1 } aggregate)
            {
                current = aggregate.InnerExceptions[0];
                yield return current;
            }
        }
    }

    private static string SqliteFile(IConfiguration configuration)
    {
        var options = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        return new SqliteConnectionStringBuilder(options.EffectiveConnectionString).DataSource;
    }
}
