using Broker.Core.Clients;

namespace Broker.Hosting;

/// <summary>
/// One setting in a change: left out (<see cref="IsNamed"/> false: it keeps its value), or named with
/// <see cref="Value"/>, where null names the setting's documented default (as in a JSON merge patch).
/// </summary>
public readonly record struct Setting<T>(bool IsNamed, T Value)
{
    /// <summary>The named value, else <paramref name="current"/>.</summary>
    public T Or(T current) => IsNamed ? Value : current;
}

public static class Setting
{
    public static Setting<T> To<T>(T value) => new(true, value);
}

/// <summary>A change of a parent's settings: only what it names changes.</summary>
public sealed record ParentSettingsChange
{
    /// <summary>The settings' names, as the admin API, the command line's JSON and the audit log write them.</summary>
    public static readonly IReadOnlyList<string> Names = ["redirect_policy", "callback_path", "child_rate_limit", "child_endpoints"];

    public Setting<RedirectPolicy?> RedirectPolicy { get; init; }

    public Setting<string?> CallbackPath { get; init; }

    public Setting<int?> ChildRateLimit { get; init; }

    public Setting<IReadOnlyList<string>?> ChildEndpoints { get; init; }

    /// <summary>The names of the settings this change leaves out.</summary>
    public IReadOnlyList<string> LeftOut()
    {
        bool[] named = [RedirectPolicy.IsNamed, CallbackPath.IsNamed, ChildRateLimit.IsNamed, ChildEndpoints.IsNamed];
        return Names.Where((_, index) => !named[index]).ToList();
    }
}

/// <summary>How a change of parent settings applies; see DESIGN.md (Platform API decisions).</summary>
public enum ParentUpdate
{
    /// <summary><c>PUT</c>: every setting named; the application becomes (again) an active parent.</summary>
    Replace,

    /// <summary><c>PATCH</c>: the named settings of an existing parent change; it stays active or disabled.</summary>
    Merge,

    /// <summary><c>parents enable</c>: the named settings change, the others stay; the application becomes an active parent.</summary>
    Enable,
}
