using System.Data.Common;
using System.Threading.Channels;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Broker.Storage;

/// <summary>
/// Group commit for a single-writer database (SQLite): small independent writes that arrive together
/// share one transaction, so that one commit (one append of the WAL) serves many callers. Each caller
/// is answered only after the commit that holds its write: a 201 is never sent for a write that could
/// still be lost. A write that fails (a unique key, say) fails alone; the others commit.
/// </summary>
/// <remarks>
/// <para>
/// Every write waits for the batch before it, so the batch writer keeps what it can from one batch to
/// the next: its own connection, held open, and a compiled command for each statement text it has run.
/// Compiling the SQL anew each time was a fifth of a registration's database time, all of it spent
/// while every other write waited.
/// </para>
/// <para>
/// A batch first runs plainly, every write straight into the transaction. Only when one of them fails
/// is that attempt rolled back and the batch run again with each write in its own savepoint, so that
/// the failed one can be undone alone. Savepoints cost every write a statement before and after it and
/// a copy of each page it touches (about a sixth of the writer's time per registration), and failures
/// are rare: a taken client name, mostly.
/// </para>
/// </remarks>
internal sealed class GroupCommit : IAsyncDisposable
{
    // Enough to amortise a commit, small enough that one batch stays a short transaction.
    private const int MaxBatch = 128;

    // Statement texts the writer keeps compiled; past this the cache starts over (it holds the few
    // texts of the hot writes, so reaching it means texts that vary, which a cache cannot serve).
    private const int MaxCachedStatements = 64;

    private static readonly Statement Savepoint = new("SAVEPOINT one_write");
    private static readonly Statement RollbackToSavepoint = new("ROLLBACK TO one_write");
    private static readonly Statement ReleaseSavepoint = new("RELEASE one_write");

    private readonly Database database;
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, DbCommand> commands = new(StringComparer.Ordinal);
    private readonly WalCheckpointer checkpointer;
    private readonly Task writer;
    private DbConnection? connection;

    public GroupCommit(Database database)
    {
        this.database = database;
        // The writer and its checkpoint thread serve every write to come: they must not keep the context
        // (trace, log scopes) of the request whose write happened to create them.
        using (ExecutionContext.SuppressFlow())
        {
            checkpointer = new WalCheckpointer(database);
            writer = Task.Run(RunAsync);
        }
    }

    /// <summary>Takes no more writes, commits those already queued, then closes the writer's connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!queue.Writer.TryComplete())
        {
            return;
        }
        await writer;
        // The checkpoint thread finishes the round it is in, if any.
        await Task.Run(checkpointer.Dispose);
        await DropWriterConnectionAsync();
    }

    private sealed record Pending(IReadOnlyList<Statement> Statements, TaskCompletionSource<bool> Done);

    /// <summary>
    /// Runs <paramref name="statements"/> in the next group transaction; the outcome once that has
    /// committed, or <see cref="DatabaseUnavailableException"/> when that takes longer than the budget.
    /// </summary>
    public async Task<bool> RunAsync(IReadOnlyList<Statement> statements, CancellationToken cancellationToken)
    {
        var pending = new Pending(statements, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!queue.Writer.TryWrite(pending), database);
        try
        {
            // A caller that gives up stops waiting; its write may still commit, like any write whose answer is lost.
            return await pending.Done.Task.WaitAsync(database.Budget, cancellationToken);
        }
        catch (TimeoutException exception)
        {
            // Queued behind a writer that is stuck (a lock held elsewhere, a slow disk): the caller gets
            // its 503 within the budget, and a write not yet taken into a batch is never run (the writer
            // skips answered ones). A write already in the running batch may still commit: an unknown
            // outcome, which is a 503 too.
            var unavailable = new DatabaseUnavailableException("the write was not committed within the time budget", exception);
            if (pending.Done.TrySetException(unavailable))
            {
                throw unavailable;
            }
            return await pending.Done.Task;
        }
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var pending))
            {
                // Answered already: its caller stopped waiting at the budget and was told nothing was written.
                if (!pending.Done.Task.IsCompleted)
                {
                    batch.Add(pending);
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            try
            {
                var outcomes = await database.RunAsync(async token =>
                {
                    // A retried batch leaves out the writes whose callers were already told 503 at the
                    // budget: committing them now would make that answer a lie.
                    batch.RemoveAll(pending => pending.Done.Task.IsCompleted);
                    if (batch.Count == 0)
                    {
                        return [];
                    }
                    var writer = await WriterConnectionAsync(token);
                    try
                    {
                        await checkpointer.CatchUpAsync(writer);
                        var outcomes = await database.InTransactionOnAsync(writer, (_, transaction, attemptToken) => RunPlainlyAsync(batch, transaction, attemptToken), CancellationToken.None, token)
                            ?? await database.InTransactionOnAsync(writer, async (_, transaction, attemptToken) => (await RunIsolatedAsync(batch, transaction, attemptToken), true), CancellationToken.None, token);
                        checkpointer.Committed();
                        database.BatchCommitted?.Invoke(batch.Count);
                        return outcomes;
                    }
                    catch
                    {
                        // Whatever broke the attempt, the next one starts from a fresh connection.
                        await DropWriterConnectionAsync();
                        throw;
                    }
                }, CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (outcomes[i].Error is { } error)
                    {
                        batch[i].Done.TrySetException(error);
                    }
                    else
                    {
                        batch[i].Done.TrySetResult(outcomes[i].Result);
                    }
                }
            }
            catch (Exception exception)
            {
                foreach (var pending in batch)
                {
                    pending.Done.TrySetException(exception);
                }
            }
        }
    }

    // Every write straight into the transaction; null (and a rollback) as soon as one of them fails.
    private async Task<((bool Result, Exception? Error)[]? Outcomes, bool Commit)> RunPlainlyAsync(
        List<Pending> batch, DbTransaction transaction, CancellationToken token)
    {
        foreach (var pending in batch)
        {
            try
            {
                if (!await ExecuteAllAsync(pending.Statements, transaction, token))
                {
                    return (null, false);
                }
            }
            catch (Exception exception) when (FailsAlone(exception))
            {
                return (null, false);
            }
        }
        return ([.. batch.Select(_ => (true, (Exception?)null))], true);
    }

    // Each write in its own savepoint, so that one that fails is undone alone.
    private async Task<(bool Result, Exception? Error)[]> RunIsolatedAsync(
        List<Pending> batch, DbTransaction transaction, CancellationToken token)
    {
        var results = new (bool Result, Exception? Error)[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            await ExecuteAsync(Savepoint, transaction, token);
            try
            {
                results[i] = (await ExecuteAllAsync(batch[i].Statements, transaction, token), null);
                if (!results[i].Result)
                {
                    await ExecuteAsync(RollbackToSavepoint, transaction, token);
                }
            }
            catch (Exception exception) when (FailsAlone(exception))
            {
                // This write alone fails; a fault of the database itself fails (and retries) the batch.
                await ExecuteAsync(RollbackToSavepoint, transaction, token);
                results[i] = (false, exception);
            }
            await ExecuteAsync(ReleaseSavepoint, transaction, token);
        }
        return results;
    }

    // A unique key, a bad value, a statement the provider refuses: this write's own fault. A fault of
    // the database itself, or the batch's time running out, is the whole batch's.
    private bool FailsAlone(Exception exception) =>
        exception is not OperationCanceledException && !database.IsUnavailable(exception);

    private Task<bool> ExecuteAllAsync(IReadOnlyList<Statement> statements, DbTransaction transaction, CancellationToken token) =>
        Statement.RunAllAsync(statements, statement => ExecuteAsync(statement, transaction, token));

    private Task<int> ExecuteAsync(Statement statement, DbTransaction transaction, CancellationToken token)
    {
        if (!commands.TryGetValue(statement.Sql, out var command) || !statement.SetValues(command))
        {
            command?.Dispose();
            if (commands.Count >= MaxCachedStatements)
            {
                ClearCommands();
            }
            command = connection!.CreateCommand();
            command.CommandText = statement.Sql;
            statement.CreateParameters(command);
            commands[statement.Sql] = command;
        }
        command.Transaction = transaction;
        return command.ExecuteNonQueryAsync(token);
    }

    // The writer's connection checkpoints nothing in its commits: WalCheckpointer does that beside it.
    private async Task<DbConnection> WriterConnectionAsync(CancellationToken token)
    {
        if (connection is null)
        {
            var opened = await database.OpenOnceAsync(token);
            try
            {
                await opened.ExecuteAsync(new CommandDefinition(WalCheckpointer.TakeOverSql, cancellationToken: token));
            }
            catch
            {
                await DiscardAsync(opened);
                throw;
            }
            connection = opened;
        }
        return connection;
    }

    private async Task DropWriterConnectionAsync()
    {
        ClearCommands();
        if (connection is null)
        {
            return;
        }
        var dropped = connection;
        connection = null;
        try
        {
            // The native connection goes back to the pool: with SQLite's own checkpoint again.
            await dropped.ExecuteAsync(WalCheckpointer.GiveBackSql);
            await dropped.DisposeAsync();
        }
        catch (Exception exception) when (exception is DbException or InvalidOperationException)
        {
            await DiscardAsync(dropped);
        }
    }

    // Closes a connection without handing its native connection to anyone again (the pool would).
    private static async Task DiscardAsync(DbConnection discarded)
    {
        if (discarded is SqliteConnection sqlite)
        {
            SqliteConnection.ClearPool(sqlite);
        }
        await discarded.DisposeAsync();
    }

    private void ClearCommands()
    {
        foreach (var command in commands.Values)
        {
            command.Dispose();
        }
        commands.Clear();
    }
}
