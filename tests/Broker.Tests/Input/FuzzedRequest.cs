using System.Globalization;
using System.Text;

namespace Broker.Tests.Input;

/// <summary>One fuzzed request: a route, then its path values, query, credentials, headers and body, each maybe broken.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5394", Justification = "A fuzzer must be replayable from its seed: predictable on purpose.")]
public static class FuzzedRequest
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "BREW"];

    private static readonly string[] JunkPaths =
    [
        "/", "//", "/%2F%2F", "/admin/v1/", "/admin/v1/parents/x/y/z", "/oauth2/v1/clients/x/lifecycle/newSecret",
        "/api/v2/tenants/settings/x", "/account/apps/%ff/revoke", "/account/%00", "/oauth/authorize/x", "/.well-known/x",
        "/photos/%C0%AF/like", "/%E2%80%AE", "/no/such/route", "/oidc/register/x/y", "/static/../appsettings.json",
    ];

    private static readonly string[] JunkValues =
    [
        "", "x", "%ff", "%zz", "%", "%00", "..", "%2e%2e", "\u00e9", "%ED%A0%80", "%C0%AF", "-1", "0", "99999999999999999999",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "a%2Fb", "%u0041", "+", " ", "\"", "'", "<script>", "null",
    ];

    private static readonly string[] QueryNames =
    [
        "limit", "after", "owner", "origin", "actor", "action", "target", "since", "until", "disable_children", "status",
        "client_id", "redirect_uri", "response_type", "scope", "state", "returnUrl", "q", "page", "per_page", "code",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=\"UTF-8\"", "application/json; charset=utf-7",
        "application/json; charset=klingon", "application/merge-patch+json", "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8", "application/x-www-form-urlencoded; charset=utf-7",
        "application/x-www-form-urlencoded; charset=iso-8859-1", "application/x-www-form-urlencoded; charset=\"\"",
        "multipart/form-data", "multipart/form-data; boundary=zzz", "text/plain", "text/html; charset=utf-16", "a/b/c;;;", "*/*", ";",
    ];

    /// <summary>The client to send with, the request, and a line describing it; null when nothing sendable came out.</summary>
    public static (HttpClient Client, HttpRequestMessage Request, string Description)? Make(Random random, IReadOnlyList<Route> routes, Material material)
    {
        var route = routes[random.Next(routes.Count)];
        var method = random.Next(8) == 0 ? Methods[random.Next(Methods.Length)] : route.Method;
        var path = random.Next(25) == 0 ? JunkPaths[random.Next(JunkPaths.Length)] : FillPath(random, route.Template, material);
        var query = random.Next(3) == 0 ? Query(random, material) : "";
        var target = path + query;
        if (!Uri.TryCreate(material.Api.BaseAddress!, target, out var uri))
        {
            return null;
        }
        var request = new HttpRequestMessage(new HttpMethod(method), uri);
        // Mostly the credential the route takes, so that bodies reach its checks; else any, or none.
        var fitting = material.FittingAuthorization(path);
        var authorization = random.Next(3) != 0 ? fitting[random.Next(fitting.Length)] : material.Authorizations[random.Next(material.Authorizations.Length)];
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        AddOddHeaders(random, request);
        var (body, contentType) = method is "GET" or "HEAD" && random.Next(6) != 0 ? (null, null) : Body(random, route, material);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }
        // Page forms post with the signed-in browser's cookie; the rest come from an API client.
        var client = path.StartsWith("/account", StringComparison.Ordinal) || path.StartsWith("/oauth/authorize", StringComparison.Ordinal)
            ? (random.Next(2) == 0 ? material.SignedInBrowser : material.Api)
            : material.Api;
        var description = $"{method} {target} [{authorization?.Split(' ')[0] ?? "anonymous"}] {contentType} {(body is null ? "" : Preview(body))}";
        return (client, request, description);
    }

    private static string FillPath(Random random, string template, Material material)
    {
        var path = new StringBuilder();
        foreach (var segment in template.Split('/'))
        {
            if (segment.Length == 0)
            {
                continue;
            }
            path.Append('/');
            path.Append(segment.StartsWith('{') ? PathValue(random, material) : segment);
        }
        return path.Length == 0 ? "/" : path.ToString();
    }

    private static string PathValue(Random random, Material material) => random.Next(4) switch
    {
        0 or 1 => material.Ids[random.Next(material.Ids.Length)],
        2 => JunkValues[random.Next(JunkValues.Length)] is { Length: > 0 } junk ? junk : "x",
        _ => random.Next(2) == 0 ? new string('a', random.Next(100, 3000)) : RandomText(random, random.Next(1, 40)),
    };

    private static string Query(Random random, Material material)
    {
        var parts = new List<string>();
        for (var i = random.Next(1, 6); i > 0; i--)
        {
            var name = random.Next(6) == 0 ? JunkValues[random.Next(JunkValues.Length)] : QueryNames[random.Next(QueryNames.Length)];
            var value = random.Next(4) switch
            {
                0 => material.Ids[random.Next(material.Ids.Length)],
                1 => random.Next(-5, 300).ToString(CultureInfo.InvariantCulture),
                2 => JunkValues[random.Next(JunkValues.Length)],
                _ => RandomText(random, random.Next(0, 30)),
            };
            parts.Add(random.Next(10) == 0 ? name : $"{name}={value}");
        }
        return "?" + string.Join(random.Next(8) == 0 ? ";" : "&", parts);
    }

    private static void AddOddHeaders(Random random, HttpRequestMessage request)
    {
        if (random.Next(4) == 0)
        {
            request.Headers.TryAddWithoutValidation("If-Match", new[] { "\"1\"", "\"2\"", "*", "W/\"1\"", "garbage", "\"99999999999999999999\"", "\"-1\"", "\"1\", \"2\"" }[random.Next(8)]);
        }
        if (random.Next(6) == 0)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", new[] { "\"k1\"", "k1", "\"\"", "\"" + new string('k', 500) + "\"", "\"\u00e9\"" }[random.Next(5)]);
        }
        if (random.Next(10) == 0)
        {
            request.Headers.TryAddWithoutValidation("Host", new[] { "evil.example", "localhost:99999", "[::1]", "a..b", "xn--", "broker.test:0" }[random.Next(6)]);
        }
        if (random.Next(10) == 0)
        {
            request.Headers.TryAddWithoutValidation("Cookie", new[] { "broker.session=garbage", "broker.session=", ".AspNetCore.Antiforgery.x=%ff" }[random.Next(3)]);
        }
        if (random.Next(12) == 0)
        {
            request.Headers.TryAddWithoutValidation("Accept", new[] { "text/html", "application/xml", "*/*;q=abc", "" }[random.Next(4)]);
        }
    }

    private static (byte[]? Body, string? ContentType) Body(Random random, Route route, Material material)
    {
        var isForm = route.Template is "/oauth/token" or "/oauth/authorize" || route.Template.StartsWith("/account", StringComparison.Ordinal)
            || (route.Template == "/clients" && random.Next(2) == 0);
        var body = isForm ? Form(random, route, material) : Json(random, route, material);
        var contentType = random.Next(3) != 0
            ? (isForm ? "application/x-www-form-urlencoded" : "application/json")
            : random.Next(8) == 0 ? null : ContentTypes[random.Next(ContentTypes.Length)];
        return (body, contentType);
    }

    // ---- JSON ----

    private static byte[] Json(Random random, Route route, Material material)
    {
        var fields = JsonFields(random, route, material);
        var mutations = random.Next(4) == 0 ? 0 : random.Next(1, 4);
        for (var i = 0; i < mutations && fields.Count > 0; i++)
        {
            var at = random.Next(fields.Count);
            var (name, value) = fields[at];
            switch (random.Next(9))
            {
                case 0:
                    fields[at] = (Insert(random, name, Escapes[random.Next(Escapes.Length)]), value);
                    break;
                case 1:
                    fields[at] = (name, "\"" + Insert(random, "value", Escapes[random.Next(Escapes.Length)]) + "\"");
                    break;
                case 2:
                    fields.Add(fields[at]);
                    break;
                case 3:
                    fields[at] = (name, WrongKinds[random.Next(WrongKinds.Length)]);
                    break;
                case 4:
                    var depth = random.Next(2) == 0 ? random.Next(10, 40) : random.Next(100, 5000);
                    fields[at] = (name, new string('[', depth) + value + new string(']', depth));
                    break;
                case 5:
                    fields[at] = (name, "\"" + new string('x', random.Next(1_000, 70_000)) + "\"");
                    break;
                case 6:
                    fields[at] = (name, "{" + string.Join(",", Enumerable.Range(0, random.Next(2, 20)).Select(n => $"\"k{n}\":{WrongKinds[random.Next(WrongKinds.Length)]}")) + "}");
                    break;
                case 7:
                    fields[at] = (RandomText(random, random.Next(0, 20)).Replace("\\", "", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal), value);
                    break;
                default:
                    fields.RemoveAt(at);
                    break;
            }
        }
        var text = "{" + string.Join(",", fields.Select(field => $"\"{field.Name}\":{field.Value}")) + "}";
        if (random.Next(12) == 0)
        {
            text = new[] { "[" + text + "]", "\"x\"", "1", "null", "true", "[]", "", "{", "}", "{}", text + "}", text + "x", "{\"a\":1,}", "/*c*/" + text, "{'a':1}", "\uFEFF" + text }[random.Next(16)];
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        return ByteMutation(random, bytes);
    }

    // Escapes and raw text that make a name or string undecodable, or merely odd.
    private static readonly string[] Escapes =
    [
        "\\ud800", "\\udfff", "\\udbff\\u0041", "\\ud83d", "\\u0000", "\\uffff", "\\ufeff", "\\u202e", "\\x41", "\\u12", "\\", "\u00e9", "\U0001F600",
    ];

    private static readonly string[] WrongKinds =
    [
        "1", "-1", "0", "1e999", "-0", "1.5", "9223372036854775808", "true", "false", "null", "[]", "{}", "[1,\"a\",null]", "\"\"",
        "\"x\"", "{\"a\":{\"b\":[]}}", "NaN", "\"\\ud800\"", "[\"GET /photos\",\"\\udfff\"]",
    ];

    private static byte[] ByteMutation(Random random, byte[] bytes)
    {
        switch (random.Next(10))
        {
            case 0 when bytes.Length > 0:
                return bytes[..random.Next(bytes.Length)];
            case 1:
                var bad = BadUtf8[random.Next(BadUtf8.Length)];
                var quote = Array.IndexOf(bytes, (byte)'"', random.Next(Math.Max(1, bytes.Length)));
                var at = quote < 0 ? random.Next(bytes.Length + 1) : quote + 1;
                return [.. bytes[..at], .. bad, .. bytes[at..]];
            case 2 when bytes.Length > 0:
                var copy = bytes.ToArray();
                for (var i = random.Next(1, 5); i > 0; i--)
                {
                    copy[random.Next(copy.Length)] = (byte)random.Next(256);
                }
                return copy;
            case 3:
                var noise = new byte[random.Next(0, 200)];
                random.NextBytes(noise);
                return noise;
            default:
                return bytes;
        }
    }

    private static readonly byte[][] BadUtf8 =
    [
        [0xff], [0xfe, 0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0x00],
    ];

    private static List<(string Name, string Value)> JsonFields(Random random, Route route, Material material)
    {
        string Quoted(string value) => "\"" + value + "\"";
        string Id() => material.Ids[random.Next(material.Ids.Length)];
        var template = route.Template;
        if (template.StartsWith("/oidc/register", StringComparison.Ordinal) || template.StartsWith("/oauth2/v1/clients", StringComparison.Ordinal))
        {
            var metadata = new List<(string, string)>
            {
                ("client_name", Quoted($"Fuzzed {random.Next()}")),
                ("redirect_uris", "[\"https://fuzz.example/cb\"]"),
                ("application_type", Quoted(new[] { "web", "native", "browser", "service", "x" }[random.Next(5)])),
                ("grant_types", "[\"authorization_code\",\"refresh_token\"]"),
                ("response_types", "[\"code\"]"),
                ("token_endpoint_auth_method", Quoted("client_secret_post")),
                ("client_uri", Quoted("https://fuzz.example")),
                ("logo_uri", Quoted("https://fuzz.example/logo.png")),
                ("post_logout_redirect_uris", "[\"https://fuzz.example/out\"]"),
                ("initiate_login_uri", Quoted("https://fuzz.example/login")),
            };
            if (random.Next(2) == 0)
            {
                metadata.Add(("client_id", Quoted(Id())));
            }
            if (random.Next(4) == 0)
            {
                metadata.Add(("client_secret", Quoted(random.Next(2) == 0 ? material.ParentSecret : "x")));
            }
            return metadata;
        }
        if (template.StartsWith("/admin/v1/parents", StringComparison.Ordinal))
        {
            return
            [
                ("redirect_policy", Quoted(new[] { "installation", "exact", "x" }[random.Next(3)])),
                ("callback_path", Quoted(new[] { "/broker/callback", "callback", "/" + new string('a', 300), "//x" }[random.Next(4)])),
                ("child_rate_limit", random.Next(-2, 100_000).ToString(CultureInfo.InvariantCulture)),
                ("child_endpoints", "[\"GET /photos\",\"POST /photos/*/like\"]"),
            ];
        }
        if (template.StartsWith("/admin/v1/children", StringComparison.Ordinal))
        {
            return [("rate_limit", random.Next(-2, 100_000).ToString(CultureInfo.InvariantCulture)), ("endpoints", "[\"GET /photos\",\"GET /me\"]")];
        }
        if (template.StartsWith("/api/v2/tenants", StringComparison.Ordinal))
        {
            return [("flags", "{\"enable_dynamic_client_registration\":" + (random.Next(2) == 0 ? "true" : "false") + "}")];
        }
        if (template == "/clients")
        {
            return [("name", Quoted($"Blog {random.Next()}")), ("description", Quoted("A blog"))];
        }
        return Enumerable.Range(0, random.Next(0, 5)).Select(n => ($"field{n}", WrongKinds[random.Next(WrongKinds.Length)])).ToList();
    }

    // ---- Forms ----

    private static byte[] Form(Random random, Route route, Material material)
    {
        var fields = FormFields(random, route, material);
        if (random.Next(2) == 0)
        {
            fields.Add((material.AntiforgeryField, material.AntiforgeryToken));
        }
        var mutations = random.Next(4) == 0 ? 0 : random.Next(1, 4);
        for (var i = 0; i < mutations && fields.Count > 0; i++)
        {
            var at = random.Next(fields.Count);
            var (name, value) = fields[at];
            switch (random.Next(7))
            {
                case 0:
                    fields[at] = (name, PercentGarbage[random.Next(PercentGarbage.Length)]);
                    break;
                case 1:
                    fields[at] = (PercentGarbage[random.Next(PercentGarbage.Length)], value);
                    break;
                case 2:
                    fields.Add(fields[at]);
                    break;
                case 3:
                    fields[at] = (name, new string('v', random.Next(1_000, 70_000)));
                    break;
                case 4:
                    fields.AddRange(Enumerable.Range(0, random.Next(60, 300)).Select(n => ($"k{n}", (string?)"v")));
                    break;
                case 5:
                    fields[at] = (new string('k', random.Next(200, 2_000)), value);
                    break;
                default:
                    fields.RemoveAt(at);
                    break;
            }
        }
        var text = string.Join(random.Next(10) == 0 ? ";" : "&", fields.Select(field => field.Value is null ? field.Name : $"{field.Name}={field.Value}"));
        return ByteMutation(random, Encoding.UTF8.GetBytes(text));
    }

    private static readonly string[] PercentGarbage =
    [
        "%zz", "%", "%f", "%ff%fe", "%C0%AF", "%ED%A0%80", "%00", "a%2", "%%%", "=", "==", "+%2B+", "%E2%80%AE", "%F0%9F%98%80", "\u00e9",
    ];

    private static List<(string Name, string? Value)> FormFields(Random random, Route route, Material material)
    {
        string Escape(string value) => Uri.EscapeDataString(value);
        switch (route.Template)
        {
            case "/oauth/token":
                return
                [
                    ("grant_type", new[] { "authorization_code", "client_credentials", "refresh_token", "password", "" }[random.Next(5)]),
                    ("code", new string('c', random.Next(0, 80))),
                    ("redirect_uri", Escape("https://blog.example/broker/callback")),
                    ("client_id", random.Next(2) == 0 ? material.ParentId : material.Ids[random.Next(material.Ids.Length)]),
                    ("client_secret", random.Next(2) == 0 ? material.ParentSecret : "x"),
                    ("code_verifier", new string('v', random.Next(0, 130))),
                    ("scope", "public"),
                ];
            case "/oauth/authorize":
                return
                [
                    ("client_id", material.ParentId),
                    ("redirect_uri", Escape("https://blog.example/broker/callback")),
                    ("response_type", "code"),
                    ("scope", "public"),
                    ("state", "xyz"),
                    ("decision", random.Next(2) == 0 ? "approve" : "deny"),
                ];
            case "/account/login" or "/account/join":
                return [("email", Escape("fuzz@blog.example")), ("password", "correct horse battery"), ("returnUrl", Escape("/account/apps"))];
            case "/clients":
                return [("name", $"Blog{random.Next()}"), ("description", "x")];
            default:
                return Enumerable.Range(0, random.Next(0, 4)).Select(n => ($"f{n}", (string?)"v")).ToList();
        }
    }

    // ---- Shared ----

    private static string Insert(Random random, string text, string insert)
    {
        var at = random.Next(text.Length + 1);
        return text[..at] + insert + text[at..];
    }

    private static string RandomText(Random random, int length)
    {
        var text = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            text.Append(random.Next(5) switch
            {
                0 => (char)random.Next(0x20, 0x7f),
                1 => (char)random.Next(0xa0, 0x800),
                2 => "%" + random.Next(256).ToString("x2", CultureInfo.InvariantCulture),
                3 => (char)random.Next(0x61, 0x7b),
                _ => (char)random.Next(0x30, 0x3a),
            });
        }
        return text.ToString();
    }

    private static string Preview(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 160));
        return body.Length > 160 ? $"{text}… ({body.Length} bytes)" : text;
    }
}
