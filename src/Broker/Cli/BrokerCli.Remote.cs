using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broker.Hosting;
using Broker.Platform;

namespace Broker.Cli;

/// <summary>The platform tasks over HTTP (<c>--url</c>, <c>--token</c>): the admin API, not the database.</summary>
public static partial class BrokerCli
{
    public const string TokenVariable = "BROKER_ADMIN_TOKEN";

    private static Command RotateSecretCommand(Remote remote)
    {
        var clientId = new Argument<string>("CLIENT_ID") { Description = "The parent whose secret to rotate." };
        var json = JsonOption();
        var command = new Command("rotate-secret", "Give a parent a new secret (shown once); the old one works for the configured overlap.")
        {
            clientId, json, remote.Url, remote.Token,
        };
        command.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Post,
            $"/admin/v1/parents/{Uri.EscapeDataString(parse.GetValue(clientId)!)}/rotate-secret", null, parse.GetValue(json),
            body => ([["client_id", "client_secret", "previous secret valid until"]],
                [[Text(body, "client_id"), Text(body, "client_secret"), Text(body, "previous_secret_expires_at")]]), cancellationToken));
        return command;
    }

    private static Command OwnerCommand(Remote remote)
    {
        var clientId = new Argument<string>("CLIENT_ID") { Description = "The parent whose vendor to name or remove." };
        var email = new Option<string?>("--email") { Description = "The vendor's account, by its e-mail." };
        var userId = new Option<string?>("--user-id") { Description = "The vendor's account, by its user id." };
        var clear = new Option<bool>("--clear") { Description = "Remove the vendor: nobody but the platform team sees the parent in the console." };
        var json = JsonOption();
        var command = new Command("owner", "Name the parent's vendor (the account that sees it, its installations and usage in the console), or remove it.")
        {
            clientId, email, userId, clear, json, remote.Url, remote.Token,
        };
        // Reject anything but exactly one of the three: which change is meant must be unambiguous.
        command.Validators.Add(result =>
        {
            var named = new[] { result.GetResult(email) is not null, result.GetResult(userId) is not null, result.GetValue(clear) }.Count(given => given);
            if (named != 1)
            {
                result.AddError("name the vendor with exactly one of --email or --user-id, or remove it with --clear");
            }
        });
        command.SetAction((parse, cancellationToken) =>
        {
            var path = $"/admin/v1/parents/{Uri.EscapeDataString(parse.GetValue(clientId)!)}/owner";
            return parse.GetValue(clear)
                ? remote.SendAsync(parse, HttpMethod.Delete, path, null, parse.GetValue(json), Remote.ClientTable, cancellationToken)
                : remote.SendAsync(parse, HttpMethod.Put, path, new { email = parse.GetValue(email), user_id = parse.GetValue(userId) },
                    parse.GetValue(json), Remote.ClientTable, cancellationToken);
        });
        return command;
    }

    private static Command ChildrenCommand(Remote remote)
    {
        var parentId = new Argument<string>("PARENT_ID") { Description = "The parent whose children to list." };
        var owner = new Option<string?>("--owner") { Description = "Only children of this user id." };
        var origin = new Option<string?>("--origin") { Description = "Only children at this origin (https://host[:port])." };
        var limit = new Option<int?>("--limit") { Description = "Children per page (1 to 200, default 50)." };
        var after = new Option<string?>("--after") { Description = "The 'next' cursor of the previous page." };
        var json = JsonOption();
        var list = new Command("list", "List a parent's children, newest first.") { parentId, owner, origin, limit, after, json, remote.Url, remote.Token };
        list.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Get,
            $"/admin/v1/parents/{Uri.EscapeDataString(parse.GetValue(parentId)!)}/children" + Query(
                ("owner", parse.GetValue(owner)), ("origin", parse.GetValue(origin)),
                ("limit", parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture)), ("after", parse.GetValue(after))),
            null, parse.GetValue(json), Remote.ClientPageTable, cancellationToken));

        var childId = new Argument<string>("CHILD_ID") { Description = "The child to revoke for good." };
        var revokeJson = JsonOption();
        var revoke = new Command("revoke", "Revoke (delete) a child: its key stops at once, for good.") { childId, revokeJson, remote.Url, remote.Token };
        revoke.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Delete,
            $"/admin/v1/children/{Uri.EscapeDataString(parse.GetValue(childId)!)}", null, parse.GetValue(revokeJson), Remote.ClientTable, cancellationToken));
        return new Command("children", "Installations' own applications (over HTTP).") { list, revoke };
    }

    private static Command AuditCommand(Remote remote)
    {
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. child.created." };
        var actor = new Option<string?>("--actor") { Description = "Only this actor, e.g. admin-token:ID." };
        var target = new Option<string?>("--target") { Description = "Only this target, e.g. client:ID." };
        var from = new Option<string?>("--from") { Description = "From this time (ISO 8601)." };
        var to = new Option<string?>("--to") { Description = "Before this time (ISO 8601)." };
        var limit = new Option<int?>("--limit") { Description = "Entries per page (1 to 200, default 50)." };
        var after = new Option<string?>("--after") { Description = "The 'next' cursor of the previous page." };
        var json = JsonOption();
        var command = new Command("audit", "Read the audit log, newest first (over HTTP).") { action, actor, target, from, to, limit, after, json, remote.Url, remote.Token };
        command.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Get,
            "/admin/v1/audit" + Query(
                ("action", parse.GetValue(action)), ("actor", parse.GetValue(actor)), ("target", parse.GetValue(target)),
                ("from", parse.GetValue(from)), ("to", parse.GetValue(to)),
                ("limit", parse.GetValue(limit)?.ToString(CultureInfo.InvariantCulture)), ("after", parse.GetValue(after))),
            null, parse.GetValue(json), body => PageTable(body, ["time", "actor", "action", "target", "source", "details"],
                entry => [Text(entry, "at"), Text(entry, "actor"), Text(entry, "action"), Text(entry, "target"), Text(entry, "source_address"), Text(entry, "details")]),
            cancellationToken));
        return command;
    }

    private static Command WebhooksCommand(Remote remote)
    {
        var listJson = JsonOption();
        var list = new Command("list", "List the audit webhook subscriptions: where each stands, parked ones and why.") { listJson, remote.Url, remote.Token };
        list.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Get, "/admin/v1/webhooks", null, parse.GetValue(listJson),
            body => ([WebhookHeader], [.. body.GetProperty("items").EnumerateArray().Select(WebhookRow)]), cancellationToken));

        var url = new Argument<string>("URL") { Description = "The receiver's https URL." };
        var events = new Option<string[]>("--event") { Description = "An audit action to deliver (repeat; none for every action).", AllowMultipleArgumentsPerToken = true };
        var addJson = JsonOption();
        var add = new Command("add", "Subscribe a receiver to the audit log; prints its signing secret once.") { url, events, addJson, remote.Url, remote.Token };
        add.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Post, "/admin/v1/webhooks",
            new { url = parse.GetValue(url), event_types = parse.GetValue(events) ?? [] }, parse.GetValue(addJson),
            body => ([[.. WebhookHeader, "secret"]], [[.. WebhookRow(body.GetProperty("subscription")), Text(body, "secret")]]), cancellationToken));

        var id = new Argument<string>("ID") { Description = "The subscription." };
        var from = new Option<long?>("--from") { Description = "Deliver again from this audit entry id (default: from where it stopped)." };
        var replayJson = JsonOption();
        var replay = new Command("replay", "Resume a parked subscription, or deliver again from an audit entry.") { id, from, replayJson, remote.Url, remote.Token };
        replay.SetAction((parse, cancellationToken) => remote.SendAsync(parse, HttpMethod.Post,
            $"/admin/v1/webhooks/{Uri.EscapeDataString(parse.GetValue(id)!)}/replay",
            new { from_event_id = parse.GetValue(from) }, parse.GetValue(replayJson), body => ([WebhookHeader], [WebhookRow(body)]), cancellationToken));
        return new Command("webhooks", "Audit webhook subscriptions (over HTTP).") { list, add, replay };
    }

    private static readonly string[] WebhookHeader = ["id", "url", "events", "status", "delivered through", "failures", "last error"];

    private static string[] WebhookRow(JsonElement subscription) =>
    [
        Text(subscription, "id"), Text(subscription, "url"), Text(subscription, "event_types") is { Length: > 0 } types ? types : "(all)",
        Text(subscription, "status"), Text(subscription, "delivered_through"), Text(subscription, "failures"), Text(subscription, "last_error"),
    ];

    private static string Query(params (string Name, string? Value)[] parameters) =>
        QueryString.Create(parameters.Where(p => p.Value is not null).Select(p => new KeyValuePair<string, string?>(p.Name, p.Value))).ToString();

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.Null or JsonValueKind.Undefined => "",
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(item => item.ToString())),
                _ => value.ToString(),
            }
            : "";

    private static (string[][] Header, string[][] Rows) PageTable(JsonElement page, string[] header, Func<JsonElement, string[]> row)
    {
        var rows = page.GetProperty("items").EnumerateArray().Select(row).ToList();
        if (page.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String)
        {
            rows.Add([$"(more: --after {next.GetString()})"]);
        }
        return ([header], [.. rows]);
    }

    /// <summary>The admin API as the command line calls it: one request, a table or JSON, ProblemDetails as an error line.</summary>
    private sealed class Remote(TextWriter output, TextWriter error, HttpMessageHandler? handler)
    {
        public Option<string?> Url { get; } = new("--url") { Description = "The broker's base URL, e.g. https://broker.example (admin API over HTTP)." };

        public Option<string?> Token { get; } = new("--token")
        {
            Description = $"An admin API token (default: the {TokenVariable} environment variable, which keeps it out of shell history).",
        };

        public static (string[][] Header, string[][] Rows) ClientTable(JsonElement client) =>
            ([ClientHeader], [ClientRow(client)]);

        public static (string[][] Header, string[][] Rows) ClientPageTable(JsonElement page) =>
            PageTable(page, ClientHeader, ClientRow);

        private static readonly string[] ClientHeader = ["client_id", "name", "kind", "status", "secret", "owner", "origin", "rate", "last used"];

        private static string[] ClientRow(JsonElement client) =>
        [
            Text(client, "client_id"), Text(client, "name"), Text(client, "kind"), Text(client, "status"),
            Text(client, "secret_fingerprint") is { Length: > 0 } fingerprint ? "…" + fingerprint : "",
            Text(client, "owner_user_id"), Text(client, "origin"),
            Text(client, "rate_limit") is { Length: > 0 } rate ? rate : Text(client, "child_rate_limit"),
            Text(client, "last_used_at"),
        ];

        public async Task<int> SendAsync(
            ParseResult parse, HttpMethod method, string path, object? body, bool json,
            Func<JsonElement, (string[][] Header, string[][] Rows)> table, CancellationToken cancellationToken) =>
            await RequestAsync(parse, method, path, body, null, cancellationToken) is { } answer
                ? await PrintAsync(answer, json, table)
                : ExitCodes.BadInput;

        /// <summary>
        /// <c>parents enable</c> over HTTP: the parent as it is (if it is one), the settings named on the
        /// command line over it, sent back whole with <c>PUT</c> and the version read, so that what was
        /// not named stays, a disabled parent comes back, and a change in between is refused (412).
        /// </summary>
        public async Task<int> EnableParentAsync(ParseResult parse, string clientId, ParentSettingsChange change, bool json, CancellationToken cancellationToken)
        {
            var path = $"/admin/v1/parents/{Uri.EscapeDataString(clientId)}";
            if (await RequestAsync(parse, HttpMethod.Get, path, null, null, cancellationToken) is not { } current)
            {
                return ExitCodes.BadInput;
            }
            var isParent = current.IsSuccess;
            if (!isParent && current.Status != HttpStatusCode.NotFound)
            {
                return await PrintAsync(current, json, ClientTable);
            }
            JsonElement? Current(string name) => isParent && current.Body.TryGetProperty(name, out var value) ? value : null;
            var body = new Dictionary<string, object?>
            {
                ["redirect_policy"] = change.RedirectPolicy.IsNamed ? change.RedirectPolicy.Value?.ToString().ToLowerInvariant() : Current("redirect_policy"),
                ["callback_path"] = change.CallbackPath.IsNamed ? change.CallbackPath.Value : Current("callback_path"),
                ["child_rate_limit"] = change.ChildRateLimit.IsNamed ? change.ChildRateLimit.Value : Current("child_rate_limit"),
                ["child_endpoints"] = change.ChildEndpoints.IsNamed ? change.ChildEndpoints.Value : Current("child_endpoints"),
            };
            return await RequestAsync(parse, HttpMethod.Put, path, body, isParent ? current.ETag : null, cancellationToken) is { } answer
                ? await PrintAsync(answer, json, ClientTable)
                : ExitCodes.BadInput;
        }

        /// <summary>One answer of the admin API: its status, version and JSON body.</summary>
        private sealed record Answer(HttpStatusCode Status, string? Reason, string? ETag, JsonElement Body)
        {
            public bool IsSuccess => (int)Status is >= 200 and < 300;
        }

        // One request; null when it could not be made or did not answer JSON (the error line is written).
        private async Task<Answer?> RequestAsync(
            ParseResult parse, HttpMethod method, string path, object? body, string? ifMatch, CancellationToken cancellationToken)
        {
            var url = parse.GetValue(Url);
            var token = parse.GetValue(Token) ?? Environment.GetEnvironmentVariable(TokenVariable);
            // Reject a missing or non-absolute URL, and plain http beyond this machine: the token would travel in clear.
            if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var baseUri)
                || !(baseUri.Scheme == Uri.UriSchemeHttps || (baseUri.Scheme == Uri.UriSchemeHttp && baseUri.IsLoopback)))
            {
                await FailAsync(error, "--url must be the broker's https URL (http only on localhost)");
                return null;
            }
            if (string.IsNullOrWhiteSpace(token))
            {
                await FailAsync(error, $"an admin token is needed: --token or the {TokenVariable} environment variable");
                return null;
            }
            using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
            using var request = new HttpRequestMessage(method, new Uri(baseUri, path));
            request.Headers.Authorization = new AuthenticationHeaderValue("SSWS", token.Trim());
            if (ifMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
            }
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException exception)
            {
                await FailAsync(error, $"could not reach {baseUri}: {exception.Message}");
                return null;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                try
                {
                    var parsed = text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text);
                    return new Answer(response.StatusCode, response.ReasonPhrase, response.Headers.ETag?.ToString(), parsed);
                }
                catch (JsonException)
                {
                    await FailAsync(error, $"{(int)response.StatusCode}: the broker did not answer JSON");
                    return null;
                }
            }
        }

        // A success as JSON or a table; a refusal as one error line.
        private async Task<int> PrintAsync(Answer answer, bool json, Func<JsonElement, (string[][] Header, string[][] Rows)> table)
        {
            if (!answer.IsSuccess)
            {
                var detail = answer.Body.ValueKind == JsonValueKind.Object ? Text(answer.Body, "detail") : "";
                return await FailAsync(error, $"{(int)answer.Status} {answer.Reason}{(detail.Length > 0 ? ": " + detail : "")}");
            }
            if (json)
            {
                await output.WriteLineAsync(JsonSerializer.Serialize(answer.Body, Json));
                return 0;
            }
            var (header, rows) = table(answer.Body);
            await WriteTableAsync(output, header[0], rows);
            return 0;
        }

        private static async Task WriteTableAsync(TextWriter output, string[] header, string[][] rows)
        {
            var widths = header.Select((title, column) => rows.Where(row => row.Length == header.Length)
                .Select(row => row[column].Length).Append(title.Length).Max()).ToArray();
            string Line(string[] cells) => string.Join("  ", cells.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd();
            await output.WriteLineAsync(Line(header));
            foreach (var row in rows)
            {
                await output.WriteLineAsync(row.Length == header.Length ? Line(row) : row[0]);
            }
        }
    }
}
