using System.Text.RegularExpressions;
using FluentAssertions;

namespace Broker.Tests;

/// <summary>
/// The host's folders are layers: <c>Http/</c> (shared HTTP pieces) at the bottom, then <c>Hosting/</c>
/// (the process and the services several features share), then the features, then the command line
/// (<c>Cli/</c>) and <c>Program.cs</c>, which compose them. A folder may name only the layers below it and
/// never a sibling feature, so a feature can be read, changed and moved on its own.
/// </summary>
public sealed partial class ArchitectureTests
{
    private const int Http = 0;
    private const int Hosting = 1;
    private const int Feature = 2;
    private const int CommandLine = 3;
    private const int EntryPoint = 4;

    /// <summary>Every folder under src/Broker that holds code, with its layer; a new folder must be placed here.</summary>
    private static readonly Dictionary<string, int> Layers = new(StringComparer.Ordinal)
    {
        ["Http"] = Http,
        ["Hosting"] = Hosting,
        ["Accounts"] = Feature,
        ["Console"] = Feature,
        ["Gateway"] = Feature,
        ["Installation"] = Feature,
        ["Operations"] = Feature,
        ["Platform"] = Feature,
        ["Registration"] = Feature,
        ["Webhooks"] = Feature,
        ["Cli"] = CommandLine,
        [""] = EntryPoint,
    };

    [Fact]
    public void Every_folder_of_the_host_has_a_layer()
    {
        var unplaced = HostSources().Select(source => source.Folder).Distinct().Where(folder => !Layers.ContainsKey(folder));

        unplaced.Should().BeEmpty("each folder under src/Broker must be placed in a layer in ArchitectureTests.Layers");
    }

    [Fact]
    public void No_folder_names_a_sibling_feature_or_a_layer_above_it()
    {
        var violations = HostSources()
            .Where(source => Layers.ContainsKey(source.Folder))
            .SelectMany(source => Violations(source.Folder, File.ReadAllText(source.Path))
                .Select(named => $"{source.RelativePath} names Broker.{named}"));

        violations.Should().BeEmpty();
    }

    [Theory]
    [InlineData("using Broker.Installation;\nnamespace Broker.Accounts;\n")]
    [InlineData("using static Broker.Installation.OAuthResults;\nnamespace Broker.Accounts;\n")]
    [InlineData("using Results = Broker.Installation.OAuthResults;\nnamespace Broker.Accounts;\n")]
    [InlineData("namespace Broker.Accounts;\nclass A { object B() => Broker.Installation.OAuthResults.Error(400, \"x\", \"y\"); }\n")]
    [InlineData("namespace Broker.Accounts;\nclass A { object B() => global::Broker.Installation.OAuthResults.Error(400, \"x\", \"y\"); }\n")]
    [InlineData("namespace Broker.Accounts;\nclass A { string B() => Installation.OAuthResults.RetryAfterSeconds(default); }\n")]
    [InlineData("namespace Broker.Accounts;\nclass A(Installation.TokenEndpoint endpoint);\n")]
    public void A_reference_to_a_sibling_feature_is_caught_however_it_is_written(string source)
    {
        Violations("Accounts", source).Should().Equal("Installation");
    }

    [Theory]
    [InlineData("using Broker.Core.Platform;\nusing Broker.Hosting;\nusing Broker.Http;\nnamespace Broker.Accounts;\n")]
    [InlineData("namespace Broker.Accounts;\nclass A { object B() => Core.Platform.AuditActions.User(\"u\"); }\n")]
    [InlineData("namespace Broker.Accounts;\nclass A { object B() => RedirectPolicy.Installation; }\n")]
    [InlineData("namespace Broker.Accounts;\n// See Installation.TokenEndpoint for why.\nclass A;\n")]
    public void Names_that_only_look_like_a_feature_are_not_caught(string source)
    {
        Violations("Accounts", source).Should().BeEmpty();
    }

    [Fact]
    public void The_shared_layers_may_not_name_a_feature_nor_Http_name_Hosting()
    {
        Violations("Hosting", "using Broker.Gateway;\nnamespace Broker.Hosting;\n").Should().Equal("Gateway");
        Violations("Http", "using Broker.Hosting;\nnamespace Broker.Http;\n").Should().Equal("Hosting");
        Violations("Cli", "using Broker.Hosting;\nusing Broker.Platform;\nnamespace Broker.Cli;\n").Should().BeEmpty();
    }

    /// <summary>The host folders <paramref name="source"/>, placed in <paramref name="folder"/>, may not name.</summary>
    private static List<string> Violations(string folder, string source)
    {
        var code = CommentOrText().Replace(source, "");
        var named = QualifiedName().Matches(code).Select(match => match.Groups["folder"].Value)
            .Concat(FolderRelativeName().Matches(code).Select(match => match.Groups["folder"].Value))
            .Where(Layers.ContainsKey);
        return [.. named.Distinct().Where(other => other != folder && Layers[other] >= Layers[folder])];
    }

    private sealed record HostSource(string Path, string RelativePath, string Folder);

    private static IEnumerable<HostSource> HostSources()
    {
        var host = Path.Combine(RepositoryRoot(), "src", "Broker");
        return Directory.EnumerateFiles(host, "*.cs", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(host, path))
            .Where(relative => !relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                && !relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .Select(relative => new HostSource(Path.Combine(host, relative), relative,
                relative.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal) ? relative[..relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal)] : ""));
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Broker.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }

    // Comments and literals name no code: "// see Installation.TokenEndpoint" must not count. Literals
    // go too (a path like "Installation.cs" in a message), verbatim and raw ones included.
    [GeneratedRegex("""//[^\n]*|/\*.*?\*/|@"(?:[^"]|"")*"|"{3,}.*?"{3,}|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])'""", RegexOptions.Singleline)]
    private static partial Regex CommentOrText();

    // Broker.X in a using directive (plain, static or alias) or written out in code, with or without global::.
    [GeneratedRegex(@"(?<![\w.])(?:global::)?Broker\.(?<folder>\w+)")]
    private static partial Regex QualifiedName();

    // Inside namespace Broker.Y, Installation.OAuthResults means Broker.Installation.OAuthResults.
    [GeneratedRegex(@"(?<![\w.:])(?<folder>[A-Z]\w*)\.[A-Z]")]
    private static partial Regex FolderRelativeName();
}
