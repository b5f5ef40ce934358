using BenchmarkDotNet.Running;
using Broker.Benchmarks;

// `seed <sqlite file>` prepares a database for scripts/bench-gateway.sh and prints a child's key;
// anything else runs the BenchmarkDotNet benchmarks (e.g. --filter '*GateDecision*').
if (args is ["seed", var databasePath])
{
    Console.WriteLine((await BenchmarkSeed.SeedAsync(databasePath)).ChildId);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(GateDecisionBenchmark).Assembly).Run(args);
return 0;
