using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Broker.Accounts;

/// <summary>The <c>Mail</c> section: the SMTP server the broker sends its mails (password resets) through.</summary>
public sealed class MailOptions
{
    public const string Section = "Mail";

    /// <summary>The SMTP server; unset means no mail (Development prints mails to the console instead).</summary>
    public string? SmtpHost { get; set; }

    public int SmtpPort { get; set; } = 587;

    /// <summary>
    /// MailKit's <see cref="SecureSocketOptions"/>: <c>StartTls</c> (default: refuse a server without
    /// it), <c>SslOnConnect</c> (port 465), <c>StartTlsWhenAvailable</c>, <c>Auto</c> or <c>None</c>.
    /// </summary>
    public SecureSocketOptions Security { get; set; } = SecureSocketOptions.StartTls;

    /// <summary>The sender, <c>Name &lt;address&gt;</c> or a bare address; required with a host.</summary>
    public string? From { get; set; }

    /// <summary>SMTP authentication; both unset means none.</summary>
    public string? UserName { get; set; }

    public string? Password { get; set; }

    public bool IsConfigured => !string.IsNullOrWhiteSpace(SmtpHost);
}

internal sealed class MailOptionsValidation : IValidateOptions<MailOptions>
{
    public ValidateOptionsResult Validate(string? name, MailOptions options)
    {
        if (!options.IsConfigured)
        {
            return ValidateOptionsResult.Success;
        }
        var failures = new List<string>();
        // Reject a port outside TCP's range.
        if (options.SmtpPort is < 1 or > 65535)
        {
            failures.Add("Mail:SmtpPort must be 1 to 65535.");
        }
        // Reject a missing or malformed sender: every mail needs one.
        if (options.From is null || !MailboxAddress.TryParse(options.From, out _))
        {
            failures.Add("Mail:From must be an address such as \"Broker <no-reply@example.com>\" when Mail:SmtpHost is set.");
        }
        // Reject half a credential.
        if (string.IsNullOrEmpty(options.UserName) != string.IsNullOrEmpty(options.Password))
        {
            failures.Add("Mail:UserName and Mail:Password must be set together.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A plain-text mail to one person.</summary>
public sealed record Mail(string To, string Subject, string Body);

public interface IMailSender
{
    Task SendAsync(Mail mail, CancellationToken cancellationToken);
}

/// <summary>Sends through the configured SMTP server with MailKit, one connection per mail (mails are rare).</summary>
internal sealed class SmtpMailSender(IOptions<MailOptions> options) : IMailSender
{
    public async Task SendAsync(Mail mail, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(settings.From!));
        message.To.Add(MailboxAddress.Parse(mail.To));
        message.Subject = mail.Subject;
        message.Body = new TextPart("plain") { Text = mail.Body };
        using var client = new SmtpClient();
        await client.ConnectAsync(settings.SmtpHost!, settings.SmtpPort, settings.Security, cancellationToken);
        if (!string.IsNullOrEmpty(settings.UserName))
        {
            await client.AuthenticateAsync(settings.UserName, settings.Password!, cancellationToken);
        }
        await client.SendAsync(message, cancellationToken);
        await client.DisconnectAsync(quit: true, cancellationToken);
    }
}

/// <summary>
/// Development without an SMTP server: the mail is printed to the console, link included, so a
/// developer can follow it. Written past the logger on purpose: log redaction would mask the token.
/// </summary>
internal sealed class ConsoleMailSender(ILogger<ConsoleMailSender> logger) : IMailSender
{
    public Task SendAsync(Mail mail, CancellationToken cancellationToken)
    {
        logger.LogInformation("No Mail:SmtpHost in Development: the mail to {To} is printed to the console", mail.To);
        System.Console.WriteLine($"""

            ==== Mail (Development only: Mail:SmtpHost is not set) ====
            To:      {mail.To}
            Subject: {mail.Subject}

            {mail.Body}
            ===========================================================

            """);
        return Task.CompletedTask;
    }
}

public static class MailSetup
{
    /// <summary>
    /// The mail sender: SMTP when <c>Mail:SmtpHost</c> is set, the console in Development, else none
    /// (<see cref="MailAvailability.CanSend"/> is false and the pages offer no password reset).
    /// </summary>
    public static IServiceCollection AddMail(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MailOptions>().Bind(configuration.GetSection(MailOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MailOptions>, MailOptionsValidation>();
        services.AddSingleton<MailAvailability>();
        services.AddSingleton<IMailSender>(provider => provider.GetRequiredService<IOptions<MailOptions>>().Value.IsConfigured
            ? ActivatorUtilities.CreateInstance<SmtpMailSender>(provider)
            : ActivatorUtilities.CreateInstance<ConsoleMailSender>(provider));
        return services;
    }
}

/// <summary>Whether this deployment can send mail at all.</summary>
public sealed class MailAvailability(IOptions<MailOptions> options, IHostEnvironment environment)
{
    public bool CanSend { get; } = options.Value.IsConfigured || environment.IsDevelopment();
}
