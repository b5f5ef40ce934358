using System.Data.Common;
using System.Threading.Channels;
using Dapper;

namespace Broker.Storage;

/// <summary>
/// Group commit for a single-writer database (SQLite): small independent writes that arrive together
/// share one transaction, each in its own savepoint, so that one commit (one append of the WAL) serves
/// many callers. Each caller is answered only after the commit that holds its write: a 201 is never
/// sent for a write that could still be lost. A write that fails (a unique key, say) rolls back to its
/// savepoint and fails alone; the others commit.
/// </summary>
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
                var outcomes = await database.InTransactionAsync(async (connection, transaction, token) =>
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
                    return (results, true);
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
}
