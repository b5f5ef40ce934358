using System.Collections;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broker.Hosting;

/// <summary>
/// Secrets, codes and tokens never reach a log, whatever the log level or configuration. The
/// framework logs URLs with their query strings (Hosting's "Request starting", redirect results,
/// YARP's and HttpClient's request URLs), and a redirect after consent carries the code; log levels
/// cannot be relied on to hide them, because configuration (<c>Logging__LogLevel__Default=Trace</c>,
/// a provider-specific rule) can always name a more specific rule than code. So every logger the
/// host hands out is wrapped, and what it writes (message, structured values, scopes) is redacted
/// before any provider sees it.
/// </summary>
public static partial class LogRedaction
{
    public const string Mask = "[redacted]";

    /// <summary>Wraps the host's logger factory so that every logger redacts (call once, at start).</summary>
    public static IServiceCollection AddLogRedaction(this IServiceCollection services)
    {
        services.AddLogging();
        services.TryAddSingleton<LoggerFactory>();
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider =>
            new RedactingLoggerFactory(provider.GetRequiredService<LoggerFactory>())));
        return services;
    }

    /// <summary>
    /// <paramref name="text"/> with every query value, credential after an authorization scheme,
    /// 64-hex-digit value (the shape of every secret, code and token the broker mints) and minted client
    /// id (a child's is its gateway key) masked.
    /// </summary>
    public static string Redact(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }
        text = QueryValue().Replace(text, Mask);
        text = Credential().Replace(text, match => match.Groups["scheme"].Value + " " + Mask);
        text = MintedClientId().Replace(text, Mask);
        return MintedSecret().Replace(text, Mask);
    }

    // A value after "?name=" or "&name=", also percent-encoded inside another URL's query.
    [GeneratedRegex(@"(?<=(?:[?&]|%3[Ff]|%26)[^=&\s""'<>?#]{1,100}(?:=|%3[Dd]))[^&\s""'<>#]+")]
    private static partial Regex QueryValue();

    [GeneratedRegex(@"\b(?<scheme>Bearer|Basic|Client-ID|SSWS)\s+[^\s,;""']+", RegexOptions.IgnoreCase)]
    private static partial Regex Credential();

    [GeneratedRegex(@"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")]
    private static partial Regex MintedSecret();

    // A client id as Secret.NewClientId mints it: a child's id is its gateway key, and it also travels
    // in paths (/admin/v1/children/{id}, /account/apps/{id}/revoke) that the request lines log.
    [GeneratedRegex(@"(?<![0-9A-Za-z])c[0-9a-z]{9}[0-9A-Za-z]{22}(?![0-9A-Za-z])")]
    private static partial Regex MintedClientId();

    private sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            StartupFailure.QuietHostLogger(categoryName, new RedactingLogger(inner.CreateLogger(categoryName)));

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        // The inner factory is the container's own singleton: the container disposes it.
        public void Dispose()
        {
        }
    }

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(new RedactedState(state));

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }
            var message = Redact(formatter(state, exception));
            inner.Log(logLevel, eventId, new RedactedState((object?)state ?? message), exception, (_, _) => message);
        }
    }

    // A log or scope state whose values and text are redacted, for providers that write structured
    // values (JSON console, OpenTelemetry) as well as those that write the message. Redacted when first
    // read, not when made: the host opens a scope on every request (and Kestrel on every connection)
    // whether or not anything is logged in it, and that must cost no regex work.
    private sealed class RedactedState(object state) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private KeyValuePair<string, object?>[]? values;

        private string? text;

        private KeyValuePair<string, object?>[] Values => values ??= state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? [.. pairs.Select(pair => new KeyValuePair<string, object?>(pair.Key, pair.Key == "{OriginalFormat}" ? pair.Value : RedactValue(pair.Value)))]
            : [];

        public KeyValuePair<string, object?> this[int index] => Values[index];

        public int Count => Values.Length;

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Values).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => text ??= Redact(state.ToString() ?? "");

        private static object? RedactValue(object? value) => value switch
        {
            null or bool or int or long or double or decimal or float or short or byte or Enum or TimeSpan or DateTime or DateTimeOffset => value,
            _ => Redact(value.ToString() ?? ""),
        };
    }
}
