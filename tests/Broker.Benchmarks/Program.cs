using BenchmarkDotNet.Running;
using Broker.Benchmarks;

// `seed <sqlite file>` prepares a database and prints a child's key; `seed <sqlite file> <children>
// <keys file>` seeds that many children and writes 1,000 of their keys, spread over them, one a line
// (scripts/bench-gateway.sh). `bare-proxy <url> <upstream>` runs YARP alone on Kestrel, the bench's .NET floor.
// Anything else runs the BenchmarkDotNet benchmarks (e.g. --filter '*GateDecision*').
switch (args)
{
    case ["seed", var databasePath]:
        Console.WriteLine((await BenchmarkSeed.SeedAsync(databasePath)).ChildId);
        return 0;
    case ["seed", var databasePath, var childrenText, var keysPath] when int.TryParse(childrenText, out var children) && children > 0:
        var ids = await BenchmarkSeed.SeedChildrenAsync(databasePath, children);
        await File.WriteAllLinesAsync(keysPath, BenchmarkSeed.Spread(ids, 1_000));
        return 0;
    case ["bare-proxy", var url, var upstream]:
        await BareProxy.RunAsync(url, upstream);
        return 0;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(GateDecisionBenchmark).Assembly).Run(args);
        return 0;
}
