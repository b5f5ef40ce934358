using System.Diagnostics;
using System.Net;
using System.Text;
using Broker.Tests.Gateway;

namespace Broker.Tests.ScaleOut;

/// <summary><c>dotnet Broker.dll</c> on a free loopback port over the given SQLite file.</summary>
internal sealed class BrokerServerProcess : IDisposable
{
    private readonly Process process;

    private BrokerServerProcess(Process process, Uri baseAddress) => (this.process, BaseAddress) = (process, baseAddress);

    public Uri BaseAddress { get; }

    public static async Task<BrokerServerProcess> StartAsync(string databasePath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = GatewayCalls.FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Broker.dll"), "--urls", $"http://127.0.0.1:{port}"])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DataProtection__KeyEncryptionKey"] = Convert.ToBase64String(new byte[32]);
        start.Environment["Storage__ConnectionString"] = $"Data Source={databasePath}";
        start.Environment["Broker__Issuer"] = $"http://127.0.0.1:{port}";
        start.Environment["Registration__PermitsPerMinutePerAddress"] = "100000";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start)!;
        var log = new StringBuilder();
        process.OutputDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var broker = new BrokerServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
        using var probe = new HttpClient { BaseAddress = broker.BaseAddress };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromMinutes(1) && !process.HasExited)
        {
            try
            {
                if ((await probe.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK)
                {
                    return broker;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        broker.Kill();
        lock (log)
        {
            throw new InvalidOperationException($"the broker did not become ready:\n{log}");
        }
    }

    /// <summary>SIGKILL: no shutdown, no flush, no disposal.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }
}
