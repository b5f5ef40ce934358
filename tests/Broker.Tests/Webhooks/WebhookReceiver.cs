using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Webhooks;

/// <summary>One request the receiver got, and what it answered.</summary>
public sealed record ReceivedWebhook(string Id, string Timestamp, string Signature, string Body, int Status)
{
    public HeaderDictionary Headers => new()
    {
        ["webhook-id"] = Id,
        ["webhook-timestamp"] = Timestamp,
        ["webhook-signature"] = Signature,
    };

    public long AuditId => long.Parse(Id["audit_".Length..], System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A webhook receiver on Kestrel on a loopback port: it accepts, answers 500, or never answers (until
/// the sender gives up), as the test says, and records every request.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public enum Behaviour
    {
        Accept,
        Fail,
        Hang,
    }

    private readonly WebApplication app;
    private readonly List<ReceivedWebhook> received = [];
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int failNext;

    private WebhookReceiver(WebApplication app) => this.app = app;

    /// <summary>What the receiver does with a request (after any <see cref="FailNext"/>).</summary>
    public Behaviour Mode
    {
        get => (Behaviour)Volatile.Read(ref mode);
        set => Volatile.Write(ref mode, (int)value);
    }

    private int mode;

    public Uri Url { get; private set; } = null!;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var receiver = new WebhookReceiver(builder.Build());
        receiver.app.MapPost("/hooks", receiver.ReceiveAsync);
        await receiver.app.StartAsync();
        receiver.Url = new Uri(receiver.app.Urls.First().Replace("localhost", "127.0.0.1", StringComparison.Ordinal) + "/hooks");
        return receiver;
    }

    /// <summary>The next <paramref name="count"/> requests are answered 500, whatever the mode.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref failNext, count);

    public IReadOnlyList<ReceivedWebhook> Received
    {
        get
        {
            lock (received)
            {
                return [.. received];
            }
        }
    }

    /// <summary>Those answered 2xx, in the order they arrived.</summary>
    public IReadOnlyList<ReceivedWebhook> Accepted => [.. Received.Where(request => request.Status == 200)];

    /// <summary>Waits until <paramref name="condition"/> holds of what was received; fails the test after two minutes.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<ReceivedWebhook>, bool> condition, string because)
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            Task next;
            lock (received)
            {
                if (condition([.. received]))
                {
                    return;
                }
                next = changed.Task;
            }
            try
            {
                await next.WaitAsync(patience.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"the receiver never saw {because}; it got: {string.Join(", ", Received.Select(r => $"{r.Id}={r.Status}"))}");
            }
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var status = Interlocked.Decrement(ref failNext) >= 0 ? 500 : Mode switch
        {
            Behaviour.Fail => 500,
            Behaviour.Hang => 0,
            _ => 200,
        };
        Record(new ReceivedWebhook(
            context.Request.Headers["webhook-id"].ToString(), context.Request.Headers["webhook-timestamp"].ToString(),
            context.Request.Headers["webhook-signature"].ToString(), body, status));
        if (status == 0)
        {
            // Never answers: the sender's timeout ends the request.
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        context.Response.StatusCode = status;
    }

    private void Record(ReceivedWebhook request)
    {
        lock (received)
        {
            received.Add(request);
            var previous = changed;
            changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            previous.SetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
