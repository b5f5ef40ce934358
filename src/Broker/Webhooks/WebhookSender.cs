using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.Core.Clients;
using Microsoft.Extensions.Options;
using StandardWebhooks;

namespace Broker.Webhooks;

/// <summary>A delivery the receiver did not accept, or that never reached it; the reason is safe to store and show.</summary>
public sealed class WebhookDeliveryException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <summary>
/// Sends one signed event (Standard Webhooks: <c>webhook-id</c>, <c>webhook-timestamp</c>,
/// <c>webhook-signature</c>). Connections go only to addresses checked after resolution (SSRF), never
/// through a proxy, never following redirects.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private readonly HttpClient http;

    public WebhookSender(IOptions<WebhookOptions> options)
    {
        var allowInternal = options.Value.AllowInternalAddresses;
        var handler = new SocketsHttpHandler
        {
            // A redirect would send the event (and its signature) somewhere no one subscribed.
            AllowAutoRedirect = false,
            // A proxy would make the connection, and its address would be the one checked.
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, token) => ConnectAsync(context.DnsEndPoint, allowInternal, token),
        };
        // The pipeline's timeout bounds each attempt; this one only backs it up.
        http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Connects to the first acceptable address the name resolves to: the address checked is the address used.</summary>
    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, bool allowInternal, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(endPoint.Host, cancellationToken);
        var acceptable = addresses.Where(address => allowInternal || !new InternetHost(address.ToString(), address).IsInternal).ToList();
        // Refuse a name that resolves only to internal addresses (DNS rebinding, a private name).
        if (acceptable.Count == 0)
        {
            throw new WebhookDeliveryException($"refused: {endPoint.Host} resolves to an internal address");
        }
        Exception? last = null;
        foreach (var address in acceptable)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException exception)
            {
                socket.Dispose();
                last = exception;
            }
        }
        throw new WebhookDeliveryException($"could not connect to {endPoint.Host}:{endPoint.Port}", last);
    }

    /// <summary>Signs with every secret given (the current one first) and sends; throws <see cref="WebhookDeliveryException"/> unless answered 2xx.</summary>
    public async Task SendAsync(
        string url, string messageId, DateTimeOffset timestamp, string payload, IReadOnlyList<byte[]> secrets, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("webhook-id", messageId);
        request.Headers.Add("webhook-timestamp", timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Space-separated signatures: a receiver holding either secret verifies (Standard Webhooks, rotation).
        request.Headers.Add("webhook-signature", string.Join(' ', secrets.Select(secret => new StandardWebhook(secret).Sign(messageId, timestamp, payload))));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            throw exception.InnerException as WebhookDeliveryException
                ?? new WebhookDeliveryException($"could not deliver: {exception.HttpRequestError}", exception);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new WebhookDeliveryException($"the receiver answered {(int)response.StatusCode}");
            }
        }
    }

    public void Dispose() => http.Dispose();
}
