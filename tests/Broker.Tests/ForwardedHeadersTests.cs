using System.Net;

namespace Broker.Tests;

/// <summary>The caller's address comes from forwarding headers only when the hop is a listed proxy.</summary>
public sealed class ForwardedHeadersTests
{
    private static async Task<HttpStatusCode> FailLoginsFromAsync(BrokerFactory broker, int attempts)
    {
        // Each attempt claims a new address; the per-address throttle must not be fooled by it.
        await broker.CreateUserAsync();
        HttpStatusCode last = 0;
        for (var i = 0; i < attempts; i++)
        {
            var browser = new Browser(broker.CreateBrowser());
            var form = await Browser.FormAsync(await browser.GetAsync("/account/login"), "/account/login");
            var request = new HttpRequestMessage(HttpMethod.Post, "/account/login")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string>(form.Fields)
                {
                    ["email"] = $"nobody{i}@example.com",
                    ["password"] = "wrong password",
                }),
            };
            request.Headers.Add("X-Forwarded-For", $"203.0.113.{i + 1}");
            last = (await browser.Http.SendAsync(request)).StatusCode;
        }
        return last;
    }

    [Fact]
    public async Task With_no_known_proxy_a_forged_X_Forwarded_For_does_not_change_the_callers_address()
    {
        using var broker = new BrokerFactory();
        broker.Settings["Accounts:FailedLoginsPerAddress"] = "3";
        (await FailLoginsFromAsync(broker, 4)).Should().Be(HttpStatusCode.TooManyRequests);
    }
}
