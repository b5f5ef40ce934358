namespace Broker.Tests.Faults;

/// <summary>
/// Tests that assert a time bound (an answer within <c>Storage:Timeout</c> + 1 s) run alone: beside the
/// fuzzer and the crash tests on two cores, a timer can fire a second late and fail a bound the code keeps.
/// </summary>
[CollectionDefinition(nameof(TimedFaults), DisableParallelization = true)]
public sealed class TimedFaults;
