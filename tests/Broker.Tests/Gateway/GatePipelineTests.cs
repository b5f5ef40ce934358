using Broker.Gateway;
using Microsoft.AspNetCore.Builder;

namespace Broker.Tests.Gateway;

/// <summary>How the gate is wired into the host's pipeline.</summary>
public sealed class GatePipelineTests
{
    [Fact]
    public async Task Gateway_routes_cannot_be_mapped_without_the_gate_in_the_pipeline()
    {
        await using var app = WebApplication.CreateBuilder().Build();

        var mapping = () => app.MapGateway();

        mapping.Should().Throw<InvalidOperationException>().WithMessage("*UseGate()*");
    }
}
