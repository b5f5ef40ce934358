using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using MimeKit;

namespace Broker.Tests.Pages;

/// <summary>A mail the loopback SMTP server received.</summary>
public sealed record ReceivedMail(string To, string Subject, string Text)
{
    /// <summary>The first link in the text.</summary>
    public string Link => Text.Split((char[])[' ', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries)
        .First(word => word.StartsWith("http", StringComparison.Ordinal));
}

/// <summary>
/// A real SMTP server on loopback, speaking just enough of RFC 5321 (EHLO, MAIL, RCPT, DATA, QUIT) for
/// MailKit to deliver to it in plain text. Each mail is parsed with MimeKit and queued for the test.
/// </summary>
public sealed class LoopbackSmtpServer : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Channel<ReceivedMail> mails = Channel.CreateUnbounded<ReceivedMail>();
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;

    public LoopbackSmtpServer()
    {
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>The broker's settings that send its mail here.</summary>
    public IEnumerable<KeyValuePair<string, string?>> BrokerSettings =>
    [
        new("Mail:SmtpHost", "127.0.0.1"),
        new("Mail:SmtpPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("Mail:Security", "None"),
        new("Mail:From", "Broker <no-reply@broker.test>"),
    ];

    /// <summary>The next mail; fails the test if none arrives within a minute (the mailer runs in the background).</summary>
    public async Task<ReceivedMail> NextAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        return await mails.Reader.ReadAsync(patience.Token);
    }

    /// <summary>Mails received and not yet taken by <see cref="NextAsync"/>.</summary>
    public int Waiting => mails.Reader.Count;

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stopping.Token);
                _ = ServeAsync(client);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 loopback test SMTP");
            var recipients = new List<string>();
            while (await reader.ReadLineAsync(stopping.Token) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-loopback");
                        await writer.WriteLineAsync("250 8BITMIME");
                        break;
                    case "HELO" or "MAIL" or "RSET" or "NOOP":
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "RCPT":
                        recipients.Add(line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..line.IndexOf('>', StringComparison.Ordinal)]);
                        await writer.WriteLineAsync("250 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End with <CRLF>.<CRLF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(stopping.Token) is { } dataLine && dataLine != ".")
                        {
                            // RFC 5321 §4.5.2: a leading dot was doubled by the sender.
                            data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                        }
                        var message = await MimeMessage.LoadAsync(new MemoryStream(Encoding.UTF8.GetBytes(data.ToString())));
                        await mails.Writer.WriteAsync(new ReceivedMail(string.Join(",", recipients), message.Subject ?? "", message.TextBody ?? ""));
                        recipients.Clear();
                        await writer.WriteLineAsync("250 OK queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 Bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 Command not implemented");
                        break;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        stopping.Dispose();
    }
}
