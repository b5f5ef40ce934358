using System.Collections;
using Broker.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Tests;

/// <summary>
/// Redaction costs nothing where nothing is written: the host opens a scope on every request, so a
/// scope that no provider reads must not be enumerated, formatted or matched against a regex.
/// </summary>
public sealed class LogRedactionCostTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Fact]
    public void A_scope_nobody_reads_is_never_read_and_a_scope_read_later_is_redacted()
    {
        var provider = new ScopeKeepingProvider();
        using var services = new ServiceCollection().AddLogRedaction().AddSingleton<ILoggerProvider>(provider).BuildServiceProvider();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Broker.Gateway");
        var state = new CountingState($"/photos?client_id={Secret}");

        using (logger.BeginScope(state))
        {
        }

        state.Reads.Should().Be(0, "opening a scope does no redaction work");
        var kept = provider.Scopes.Should().ContainSingle().Subject;
        kept.ToString().Should().NotContain(Secret);
        ((IEnumerable<KeyValuePair<string, object?>>)kept).Should().NotContain(pair => (pair.Value as string ?? "").Contains(Secret));
    }

    private sealed class CountingState(string path) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public int Reads { get; private set; }

        public KeyValuePair<string, object?> this[int index] => Pairs()[index];

        public int Count => Pairs().Length;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Pairs()).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString()
        {
            Reads++;
            return path;
        }

        private KeyValuePair<string, object?>[] Pairs()
        {
            Reads++;
            return [new("RequestPath", path)];
        }
    }

    // A provider that keeps the scopes it is handed without reading them (as the console does until it writes).
    private sealed class ScopeKeepingProvider : ILoggerProvider
    {
        public List<object> Scopes { get; } = [];

        public ILogger CreateLogger(string categoryName) => new ScopeKeepingLogger(this);

        public void Dispose()
        {
        }

        private sealed class ScopeKeepingLogger(ScopeKeepingProvider provider) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                provider.Scopes.Add(state);
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => false;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
            }
        }
    }
}
