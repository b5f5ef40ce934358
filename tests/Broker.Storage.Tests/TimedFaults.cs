namespace Broker.Storage.Tests;

/// <summary>Tests that assert a time bound run alone (see Broker.Tests' TimedFaults).</summary>
[CollectionDefinition(nameof(TimedFaults), DisableParallelization = true)]
public sealed class TimedFaults;
