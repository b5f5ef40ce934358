using System.Data.Common;
using System.Threading.Channels;
using Dapper;

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

    private sealed record Pending(IReadOnlyList<Statement> Statements, TaskCompletionSource<bool> Done)
    {
        // Guarded by the GroupCommit's claims lock: a write is either given up by its caller (never to
        // be committed) or claimed by the writer for the commit about to run, never both.
        public bool GivenUp { get; set; }

        public bool Claimed { get; set; }
    }

    private readonly Lock claims = new();

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
            // A caller that goes away (the request aborted) stops waiting; its write may still commit.
            return await pending.Done.Task.WaitAsync(database.Budget, cancellationToken);
        }
        catch (TimeoutException exception)
        {
            // Queued behind a writer that is stuck (a lock held elsewhere, a slow disk): the caller gets
            // its 503 within the budget, and the write is given up: no batch commits it afterwards (the
            // writer claims every write of a batch just before its commit, and undoes and reruns the
            // batch without the ones given up). One already claimed is being committed this moment: its
            // outcome is the answer; only a commit that itself hangs leaves it unknown (a 503 too).
            lock (claims)
            {
                if (!pending.Claimed)
                {
                    pending.GivenUp = true;
                }
            }
            if (pending.GivenUp)
            {
                var unavailable = new DatabaseUnavailableException("the write was not committed within the time budget", exception);
                pending.Done.TrySetException(unavailable);
                throw unavailable;
            }
            try
            {
                return await pending.Done.Task.WaitAsync(database.Budget, cancellationToken);
            }
            catch (TimeoutException hung)
            {
                throw new DatabaseUnavailableException("the commit holding the write did not end within the time budget; its outcome is unknown", hung);
            }
        }
    }

    // Claims every write of the batch for the commit about to run, or none when one was given up meanwhile.
    private bool TryClaim(List<Pending> batch)
    {
        lock (claims)
        {
            if (batch.Exists(pending => pending.GivenUp))
            {
                return false;
            }
            foreach (var pending in batch)
            {
                pending.Claimed = true;
            }
            return true;
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
                // Given up: its caller stopped waiting at the budget and was told nothing was written.
                if (!pending.GivenUp)
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
                    var writer = await WriterConnectionAsync(token);
                    try
                    {
                        await checkpointer.CatchUpAsync(writer);
                        while (true)
                        {
                            // A batch run again (after a fault, or because a caller gave up while it ran)
                            // leaves out the writes whose callers were told 503: committing them now would
                            // make that answer a lie.
                            batch.RemoveAll(pending => pending.GivenUp);
                            if (batch.Count == 0)
                            {
                                return [];
                            }
                            var outcomes = await database.InTransactionOnAsync(writer, (_, transaction, attemptToken) => RunPlainlyAsync(batch, transaction, attemptToken), CancellationToken.None, token)
                                ?? await database.InTransactionOnAsync(writer, (_, transaction, attemptToken) => RunIsolatedAsync(batch, transaction, attemptToken), CancellationToken.None, token);
                            if (outcomes is not null)
                            {
                                checkpointer.Committed();
                                database.BatchCommitted?.Invoke(batch.Count);
                                return outcomes;
                            }
                        }
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

    // Every write straight into the transaction; null (and a rollback) as soon as one of them fails, or
    // when a caller gave up meanwhile.
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
        return TryClaim(batch) ? ([.. batch.Select(_ => (true, (Exception?)null))], true) : (null, false);
    }

    // Each write in its own savepoint, so that one that fails is undone alone; null (and a rollback) when
    // a caller gave up meanwhile.
    private async Task<((bool Result, Exception? Error)[]? Outcomes, bool Commit)> RunIsolatedAsync(
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
        return TryClaim(batch) ? (results, true) : (null, false);
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

    // The writer's connection is its own, outside the pool (it changes its checkpoint setting, and one
    // that broke must reach no one else), and checkpoints nothing in its commits: WalCheckpointer does
    // that beside it.
    private async Task<DbConnection> WriterConnectionAsync(CancellationToken token)
    {
        if (connection is null)
        {
            var opened = await database.OpenUnpooledAsync(token);
            try
            {
                await opened.ExecuteAsync(new CommandDefinition(WalCheckpointer.TakeOverSql, cancellationToken: token));
            }
            catch
            {
                await opened.DisposeAsync();
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
        await dropped.DisposeAsync();
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
