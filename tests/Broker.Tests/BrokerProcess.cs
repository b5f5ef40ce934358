using System.Diagnostics;

namespace Broker.Tests;

/// <summary>The real broker executable (<c>dotnet Broker.dll …</c>) as an operator runs it: exit code, standard output and error.</summary>
internal static class BrokerProcess
{
    /// <summary>Runs the broker with <paramref name="args"/> and these environment variables; fails the test past a minute.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"broker {string.Join(' ', args)} did not exit within a minute");
        }
        return (process.ExitCode, await output, await error);
    }
}
