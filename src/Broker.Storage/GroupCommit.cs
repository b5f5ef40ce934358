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
/// A batch first runs plainly, every write straight into the transaction. Only when one of them fails
/// is that attempt rolled back and the batch run again with each write in its own savepoint, so that
/// the failed one can be undone alone. Savepoints cost every write a statement before and after it and
/// a copy of each page it touches (about a sixth of the writer's time per registration), and failures
/// are rare: a taken client name, mostly. The work must therefore be safe to run twice, which a retried
/// transaction already demands of it.
/// </remarks>
internal sealed class GroupCommit
{
    // Enough to amortise a commit, small enough that one batch stays a short transaction.
    private const int MaxBatch = 128;

    private readonly Database database;
    private readonly Channel<Pending> queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    public GroupCommit(Database database)
    {
        this.database = database;
        _ = Task.Run(RunAsync);
    }

    private sealed record Pending(Func<DbConnection, DbTransaction, CancellationToken, Task<bool>> Work, TaskCompletionSource<bool> Done);

    /// <summary>Runs <paramref name="work"/> in the next group transaction; its result once that has committed.</summary>
    public Task<bool> RunAsync(Func<DbConnection, DbTransaction, CancellationToken, Task<bool>> work, CancellationToken cancellationToken)
    {
        var pending = new Pending(work, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        queue.Writer.TryWrite(pending);
        // A caller that gives up stops waiting; its write may still commit, like any write whose answer is lost.
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }
            try
            {
                var outcomes = await database.InTransactionAsync(
                    async (connection, transaction, token) => await RunPlainlyAsync(batch, connection, transaction, token), CancellationToken.None)
                    ?? await database.InTransactionAsync(
                        async (connection, transaction, token) => (await RunIsolatedAsync(batch, connection, transaction, token), true), CancellationToken.None);
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
        List<Pending> batch, DbConnection connection, DbTransaction transaction, CancellationToken token)
    {
        foreach (var pending in batch)
        {
            try
            {
                if (!await pending.Work(connection, transaction, token))
                {
                    return (null, false);
                }
            }
            catch (DbException exception) when (!database.IsUnavailable(exception))
            {
                return (null, false);
            }
        }
        return ([.. batch.Select(_ => (true, (Exception?)null))], true);
    }

    // Each write in its own savepoint, so that one that fails is undone alone.
    private async Task<(bool Result, Exception? Error)[]> RunIsolatedAsync(
        List<Pending> batch, DbConnection connection, DbTransaction transaction, CancellationToken token)
    {
        var results = new (bool Result, Exception? Error)[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            await connection.ExecuteAsync(new CommandDefinition("SAVEPOINT one_write", transaction: transaction, cancellationToken: token));
            try
            {
                results[i] = (await batch[i].Work(connection, transaction, token), null);
                if (!results[i].Result)
                {
                    await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO one_write", transaction: transaction, cancellationToken: token));
                }
            }
            catch (DbException exception) when (!database.IsUnavailable(exception))
            {
                // This write alone fails; a fault of the database itself fails (and retries) the batch.
                await connection.ExecuteAsync(new CommandDefinition("ROLLBACK TO one_write", transaction: transaction, cancellationToken: token));
                results[i] = (false, exception);
            }
            await connection.ExecuteAsync(new CommandDefinition("RELEASE one_write", transaction: transaction, cancellationToken: token));
        }
        return results;
    }
}
