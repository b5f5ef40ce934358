using System.Data.Common;
using Dapper;

namespace Broker.Storage;

/// <summary>
/// Checkpoints SQLite's write-ahead log beside the group-commit writer instead of inside its commits.
/// By default the commit that takes the log past 1000 frames copies it into the database and syncs
/// both files before it returns, and every write queued behind it waits: under open-registration load
/// that was ~4.5 ms, 40 times a second, a sixth of the single writer's time.
/// </summary>
/// <remarks>
/// <para>
/// The checkpoints run on a thread of their own, so that a thread pool busy with requests cannot hold
/// them back while the log grows.
/// </para>
/// <para>
/// A checkpoint that runs while the writer appends never copies the log whole, and SQLite starts the
/// log over only once it has been. So when a checkpoint finds the log past <see cref="RestartFrames"/>,
/// the writer itself copies the last few frames between two batches (<see cref="CatchUpAsync"/>), and
/// its next transaction starts the log from the beginning. (Checked every 32 batches, a log written
/// without a pause reaches two or three times that.) Other connections keep SQLite's own automatic
/// checkpoint, so their writes never depend on this one.
/// </para>
/// </remarks>
internal sealed class WalCheckpointer : IDisposable
{
    /// <summary>Turns the automatic checkpoint off, for the writer's connection.</summary>
    public const string TakeOverSql = "PRAGMA wal_autocheckpoint = 0";

    // Copies what it can without waiting for readers or writers; answers busy, log and checkpointed frames.
    private const string CheckpointSql = "PRAGMA wal_checkpoint(PASSIVE)";

    // A checkpoint every so many batches: about SQLite's own 1000 frames for the batches of a busy broker.
    private const int BatchesPerCheckpoint = 32;

    // 16 MB of 4 KB pages: past this the log is started over.
    private const long RestartFrames = 4096;

    private readonly Database database;
    private readonly AutoResetEvent due = new(false);
    private readonly Thread thread;
    private long batches;
    private volatile bool stopping;
    private volatile bool catchUpDue;

    public WalCheckpointer(Database database)
    {
        this.database = database;
        thread = new Thread(Run) { IsBackground = true, Name = "SQLite checkpoints" };
        thread.Start();
    }

    /// <summary>Counts a committed batch; every <see cref="BatchesPerCheckpoint"/> wakes the checkpoint thread.</summary>
    public void Committed()
    {
        if (++batches % BatchesPerCheckpoint == 0)
        {
            due.Set();
        }
    }

    /// <summary>
    /// Between two batches, on the writer's connection: copies what the last checkpoint left when the
    /// log is due to start over (a few frames, so a short pause), else nothing.
    /// </summary>
    public async Task CatchUpAsync(DbConnection writer)
    {
        // Busy only when another process checkpoints the same file: then the next batch tries again.
        if (catchUpDue && (await writer.QuerySingleAsync<Progress>(CheckpointSql)).Busy == 0)
        {
            catchUpDue = false;
        }
    }

    /// <summary>Stops the thread once the checkpoint under way, if any, is done.</summary>
    public void Dispose()
    {
        if (stopping)
        {
            return;
        }
        stopping = true;
        due.Set();
        thread.Join();
        due.Dispose();
    }

    private void Run()
    {
        DbConnection? connection = null;
        while (true)
        {
            due.WaitOne();
            if (stopping)
            {
                break;
            }
            // The writer's catch-up comes first: a round of ours now would only make it find the log busy.
            if (catchUpDue)
            {
                continue;
            }
            try
            {
                // SQLite connections open synchronously; this thread has nothing else to do meanwhile.
                connection ??= database.OpenUnpooledAsync(CancellationToken.None).GetAwaiter().GetResult();
                if (connection.QuerySingle<Progress>(CheckpointSql).Log >= RestartFrames)
                {
                    catchUpDue = true;
                }
            }
            catch (Exception)
            {
                // Whatever failed (the file, the connection), a checkpoint that fails only leaves the log
                // longer, and the next one, on a new connection, copies it; an exception left to end this
                // thread would end the process.
                connection?.Dispose();
                connection = null;
            }
        }
        connection?.Dispose();
    }

    // What is read of PRAGMA wal_checkpoint's row: whether it was blocked, and the frames in the log.
    private sealed class Progress
    {
        public long Busy { get; set; }

        public long Log { get; set; }
    }
}
