using System.Diagnostics;
using Broker.Tests.Gateway;

namespace Broker.Tests.ScaleOut;

/// <summary>
/// A PostgreSQL cluster of the test's own, in a temp folder on a free loopback port, that the test may
/// stop and start again (the shared server of BROKER_TEST_POSTGRES must stay up for other tests).
/// Needs BROKER_TEST_POSTGRES_BIN, the folder of initdb and pg_ctl; as root it runs them as postgres.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    public const string Variable = "BROKER_TEST_POSTGRES_BIN";

    private readonly string bin;
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"broker-pg-{Guid.NewGuid():N}");
    private readonly int port = GatewayCalls.FreePort();

    private PrivatePostgres(string bin) => this.bin = bin;

    public static string? SkipReason =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable))
            ? $"{Variable} is not set (.ci/run sets it to PostgreSQL's bin folder)"
            : null;

    public string ConnectionString => $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=5";

    public static async Task<PrivatePostgres> StartAsync()
    {
        var cluster = new PrivatePostgres(Environment.GetEnvironmentVariable(Variable)!);
        Directory.CreateDirectory(cluster.directory);
        if (IsRoot)
        {
            // PostgreSQL refuses to run as root; its folder must belong to the user it runs as.
            await RunAsync("chown", $"postgres {cluster.directory}");
        }
        await cluster.PgAsync($"{cluster.bin}/initdb -D {cluster.directory}/data -A trust -U postgres");
        await cluster.StartAgainAsync();
        return cluster;
    }

    public Task StartAgainAsync() =>
        PgAsync($"{bin}/pg_ctl -D {directory}/data -o '-p {port} -k {directory} -c listen_addresses=127.0.0.1' -l {directory}/log -w start");

    /// <summary>Stops at once, as a crash would: open sessions are cut, nothing is flushed politely.</summary>
    public Task StopAsync() => PgAsync($"{bin}/pg_ctl -D {directory}/data -m immediate -w stop");

    /// <summary>
    /// Freezes every process of the cluster (SIGSTOP): connections are still accepted by the kernel, and
    /// nothing answers, as a server stuck on a dead disk would. <see cref="ThawAsync"/> undoes it.
    /// </summary>
    public async Task FreezeAsync()
    {
        frozen = await ClusterProcessesAsync();
        await RunAsync("kill", $"-STOP {string.Join(' ', frozen)}");
    }

    public async Task ThawAsync()
    {
        if (frozen.Count > 0)
        {
            await RunAsync("kill", $"-CONT {string.Join(' ', frozen)}");
            frozen = [];
        }
    }

    private List<int> frozen = [];

    // The postmaster (first line of postmaster.pid) and its children: only this cluster's processes.
    private async Task<List<int>> ClusterProcessesAsync()
    {
        var postmaster = int.Parse((await File.ReadAllLinesAsync($"{directory}/data/postmaster.pid"))[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var processes = new List<int> { postmaster };
        foreach (var stat in Directory.EnumerateDirectories("/proc").Select(folder => Path.Combine(folder, "stat")))
        {
            string text;
            try
            {
                text = await File.ReadAllTextAsync(stat);
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            // pid (comm) state ppid …; comm may hold spaces, so read after its closing parenthesis.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            if (int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) == postmaster)
            {
                processes.Add(int.Parse(text[..text.IndexOf(' ')], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return processes;
    }

    public async ValueTask DisposeAsync()
    {
        await ThawAsync();
        Npgsql.NpgsqlConnection.ClearAllPools();
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        Directory.Delete(directory, recursive: true);
    }

    private static bool IsRoot => Environment.UserName == "root";

    private Task PgAsync(string command) => IsRoot ? RunAsync("su", $"postgres -c \"{command}\"") : RunAsync("sh", $"-c \"{command}\"");

    private static async Task RunAsync(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}: {await output}{await error}");
        }
    }
}
