using System.Text.Json;

namespace Broker.Storage.Stores;

/// <summary>How domain values are written to columns: times as unix milliseconds, lists as JSON arrays.</summary>
internal static class DbValues
{
    public static long Time(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    public static long? Time(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    public static DateTimeOffset Time(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);

    public static DateTimeOffset? Time(long? value) => value is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(value.Value);

    /// <summary>An enum value as stored: its name in lower case.</summary>
    public static string Name(Enum value) => value.ToString().ToLowerInvariant();

    public static string List(IReadOnlyList<string> values) => JsonSerializer.Serialize(values);

    public static IReadOnlyList<string> List(string json) => JsonSerializer.Deserialize<string[]>(json) ?? [];
}
