using Broker.Storage;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Tests;

/// <summary>
/// Secrets, codes and tokens never reach a log, whatever the log level: a whole installation flow
/// logged at Trace, and the real process started from another working directory.
/// </summary>
public sealed class LogRedactionTests : SignedInOwnerTest
{
    private readonly CapturingLoggerProvider logs = new();

    public LogRedactionTests()
    {
        Broker.Settings["Logging:LogLevel:Default"] = "Trace";
        Broker.Settings["Logging:LogLevel:Microsoft"] = "Trace";
        Broker.Settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        Broker.TestServices = services => services.AddSingleton<ILoggerProvider>(logs);
    }

    [Fact]
    public async Task A_whole_installation_flow_at_trace_level_logs_no_code_token_secret_or_child_key()
    {
        var code = await Flow.ApproveAsync(Parent);
        var token = await Installation.TokenAsync(Api, Parent, code);
        var created = await Installation.CreateChildAsync(Api, token, new { name = "My blog", description = "" });
        created.StatusCode.Should().Be(HttpStatusCode.Created);
        var childKey = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("client_id").GetString()!;
        var call = await Api.GetAsync($"/photos?client_id={childKey}");
        call.StatusCode.Should().Be(HttpStatusCode.OK);

        var messages = logs.Messages;
        messages.Should().Contain(message => message.Contains("/oauth/authorize?"), "the request lines are logged at this level");
        messages.Should().Contain(message => message.Contains("/photos?"), "the gateway call is logged at this level");
        foreach (var secret in new[] { code, token, Parent.ClientSecret, childKey })
        {
            messages.Should().NotContain(message => message.Contains(secret, StringComparison.Ordinal));
        }
        logs.Values.Should().NotContain(value => value.Contains(code, StringComparison.Ordinal) || value.Contains(childKey, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("GET https://blog.example/broker/callback?code=abc&state=xyz", "GET https://blog.example/broker/callback?code=[redacted]&state=[redacted]")]
    [InlineData("/oauth/authorize?client_id=c1&redirect_uri=https%3A%2F%2Fx%2Fcb%3Fcode%3Dsecret", "/oauth/authorize?client_id=[redacted]&redirect_uri=[redacted]")]
    [InlineData("Authorization: Bearer abc.def, next", "Authorization: Bearer [redacted], next")]
    [InlineData("Client-ID cAbc123", "Client-ID [redacted]")]
    [InlineData("token 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef spent", "token [redacted] spent")]
    [InlineData("Request finished HTTP/1.1 GET /healthz - 200", "Request finished HTTP/1.1 GET /healthz - 200")]
    [InlineData("Request starting HTTP/1.1 POST http://broker/admin/v1/children/c0mx1seio0qyqk6QpaDXBAYMdEXArRau/disable - - -", "Request starting HTTP/1.1 POST http://broker/admin/v1/children/[redacted]/disable - - -")]
    [InlineData("POST /account/apps/c0mx1seio0qyqk6QpaDXBAYMdEXArRau/revoke", "POST /account/apps/[redacted]/revoke")]
    public void Redaction_masks_query_values_credentials_and_minted_secrets(string text, string redacted)
    {
        Hosting.LogRedaction.Redact(text).Should().Be(redacted);
    }

    [Fact]
    public async Task The_real_process_started_elsewhere_uses_its_own_folder_and_logs_no_query_value()
    {
        var workingDirectory = Directory.CreateTempSubdirectory("broker-cwd-").FullName;
        var databasePath = Path.Combine(workingDirectory, "broker.db");
        // A working directory with its own appsettings.json: it must not be read.
        await File.WriteAllTextAsync(Path.Combine(workingDirectory, "appsettings.json"), """{"Broker":{"Issuer":"https://from-the-working-directory.example"}}""");
        var start = new ProcessStartInfo("dotnet", [typeof(Program).Assembly.Location, "--urls", "http://127.0.0.1:0"])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Storage__ConnectionString"] = $"Data Source={databasePath}";
        start.Environment["Logging__LogLevel__Default"] = "Trace";
        start.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace";
        start.Environment["Logging__Console__LogLevel__Default"] = "Trace";
        using var process = Process.Start(start)!;
        var output = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
            {
                return;
            }
            output.Enqueue(line.Data);
            var at = line.Data.IndexOf("Now listening on: ", StringComparison.Ordinal);
            if (at >= 0)
            {
                listening.TrySetResult(line.Data[(at + "Now listening on: ".Length)..].Trim());
            }
        };
        process.ErrorDataReceived += (_, line) => output.Enqueue(line.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var secretCode = Core.Security.Secret.NewToken();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            (await http.GetAsync($"/healthz?code=plain-{secretCode}")).IsSuccessStatusCode.Should().BeTrue();
            var discovery = await http.GetFromJsonAsync<JsonElement>("/.well-known/oauth-authorization-server");
            discovery.GetProperty("issuer").GetString().Should().NotContain("from-the-working-directory");
            await Task.Delay(500);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            SqliteDialect.ClearAllPools();
        }
        var log = string.Join('\n', output);
        log.Should().Contain("/healthz?code=", "the request line is logged at Trace");
        log.Should().NotContain(secretCode);
        log.Should().Contain($"Content root path: {AppContext.BaseDirectory.TrimEnd('/')}");
        Directory.Delete(workingDirectory, recursive: true);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> messages = new();
        private readonly ConcurrentQueue<string> values = new();

        public IReadOnlyList<string> Messages => [.. messages];

        public IReadOnlyList<string> Values => [.. values];

        public ILogger CreateLogger(string categoryName) => new CapturingLogger(this);

        public void Dispose()
        {
        }

        private sealed class CapturingLogger(CapturingLoggerProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                provider.values.Enqueue(state.ToString() ?? "");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                provider.messages.Enqueue(formatter(state, exception));
                if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    foreach (var pair in pairs)
                    {
                        provider.values.Enqueue(pair.Value?.ToString() ?? "");
                    }
                }
            }
        }
    }
}
