using Broker.Hosting;

namespace Broker.Tests;

/// <summary>
/// A fresh broker with one parent and one site owner signed in through the login page: the
/// starting point of every test of the installation endpoints.
/// </summary>
public abstract class SignedInOwnerTest : IAsyncLifetime
{
    protected BrokerFactory Broker { get; } = new();

    protected Installation Flow { get; private set; } = null!;

    protected Hosting.CreatedApplication Parent { get; private set; } = null!;

    protected HttpClient Api { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Parent = await Broker.CreateParentAsync();
        await Broker.CreateUserAsync();
        Flow = new Installation(Broker);
        await Flow.Browser.SignInAsync();
        Api = Broker.CreateApiClient();
    }

    public Task DisposeAsync()
    {
        Broker.Dispose();
        return Task.CompletedTask;
    }
}
