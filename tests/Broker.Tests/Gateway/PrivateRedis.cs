using System.Diagnostics;
using System.Net;

namespace Broker.Tests.Gateway;

/// <summary>A throwaway redis-server of a test's own (the binary named by BROKER_TEST_REDIS_SERVER), for stopping and freezing.</summary>
internal static class PrivateRedis
{
    /// <summary>Starts redis-server on <paramref name="port"/> and waits until it accepts connections.</summary>
    public static async Task<Process> StartAsync(int port)
    {
        var server = Environment.GetEnvironmentVariable(RedisServerFactAttribute.Variable)!;
        var process = Process.Start(new ProcessStartInfo(server, $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        // Wait until it accepts connections.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                return process;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(100);
            }
        }
        process.Kill();
        throw new InvalidOperationException($"redis-server did not start on port {port}");
    }
}
