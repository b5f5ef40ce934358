using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace Broker.Benchmarks;

/// <summary>
/// YARP's forwarder on Kestrel with nothing else: no gate, no transforms of ours, no middleware. The
/// floor of what any gateway built on ASP.NET Core and YARP pays per call (scripts/bench-gateway.sh).
/// </summary>
public static class BareProxy
{
    public static async Task RunAsync(string url, string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        app.MapGet("/healthz", () => "ok");
        app.MapForwarder("/{**path}", upstream);
        await app.RunAsync();
    }
}
