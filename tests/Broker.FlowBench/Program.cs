using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

// Drives complete installations (authorize with a signed-in session and approval, token,
// POST /clients) concurrently against a running broker, and prints installations per second and
// the p50/p99 latency of each step.
//
//   Broker.FlowBench URL CLIENT_ID CLIENT_SECRET EMAIL PASSWORD [CONCURRENCY=32] [SECONDS=15] [BROKER_PID] [WARMUP_SECONDS=30]
//
// The warm-up runs the same flow unmeasured. It is long because tiered compilation is still busy well
// after start: in a profile 12-20 s after start the JIT took a quarter of the broker's CPU, none after 35 s.
//
// Given the broker's process id, it also prints the broker's CPU time per installation (user + system,
// from /proc), a figure that a busy machine disturbs less than installations per second.
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: Broker.FlowBench URL CLIENT_ID CLIENT_SECRET EMAIL PASSWORD [CONCURRENCY] [SECONDS]");
    return 2;
}
var (baseUrl, clientId, clientSecret, email, password) = (args[0].TrimEnd('/'), args[1], args[2], args[3], args[4]);
var concurrency = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 32;
var duration = TimeSpan.FromSeconds(args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 15);
int? brokerPid = args.Length > 7 ? int.Parse(args[7], CultureInfo.InvariantCulture) : null;
var warmUp = TimeSpan.FromSeconds(args.Length > 8 ? int.Parse(args[8], CultureInfo.InvariantCulture) : 30);
const string redirectUri = "https://blog.example/broker/callback";
var steps = new[] { "authorize", "approve", "token", "clients" };
var latencies = steps.ToDictionary(step => step, _ => new List<double>());
var failures = 0;
var installations = 0;

var tokenField = new Regex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"", RegexOptions.Compiled);
var authorizeUrl = $"{baseUrl}/oauth/authorize?client_id={clientId}&redirect_uri={Uri.EscapeDataString(redirectUri)}&response_type=code&scope=public&state=bench";

async Task<HttpClient> SignedInClientAsync()
{
    var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true });
    var login = await http.GetStringAsync($"{baseUrl}/account/login");
    var response = await http.PostAsync($"{baseUrl}/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
    {
        ["__RequestVerificationToken"] = tokenField.Match(login).Groups[1].Value,
        ["email"] = email,
        ["password"] = password,
        ["returnUrl"] = "/account/apps",
    }));
    if (response.StatusCode != HttpStatusCode.Redirect)
    {
        throw new InvalidOperationException($"sign-in failed: {(int)response.StatusCode}");
    }
    return http;
}

async Task<T> TimedAsync<T>(string step, List<double> samples, Func<Task<T>> action)
{
    var started = Stopwatch.GetTimestamp();
    var result = await action();
    samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    return result;
}

async Task WorkerAsync(HttpClient browser, HttpClient api, DateTime until, Dictionary<string, List<double>> samples)
{
    while (DateTime.UtcNow < until)
    {
        try
        {
            var consent = await TimedAsync("authorize", samples["authorize"], () => browser.GetStringAsync(authorizeUrl));
            var approved = await TimedAsync("approve", samples["approve"], () => browser.PostAsync($"{baseUrl}/oauth/authorize", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = tokenField.Match(consent).Groups[1].Value,
                ["client_id"] = clientId,
                ["redirect_uri"] = redirectUri,
                ["response_type"] = "code",
                ["scope"] = "public",
                ["state"] = "bench",
                ["decision"] = "approve",
            })));
            var code = Regex.Match(approved.Headers.Location?.Query ?? "", "code=([0-9a-f]+)").Groups[1].Value;
            var token = await TimedAsync("token", samples["token"], () => api.PostAsync($"{baseUrl}/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["client_id"] = clientId,
                ["client_secret"] = clientSecret,
                ["redirect_uri"] = redirectUri,
                ["code"] = code,
                ["grant_type"] = "authorization_code",
            })));
            var accessToken = JsonDocument.Parse(await token.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/clients")
            {
                Content = new StringContent("{\"name\":\"Bench blog\",\"description\":\"blog.example\"}", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", accessToken);
            var created = await TimedAsync("clients", samples["clients"], () => api.SendAsync(request));
            if (created.StatusCode == HttpStatusCode.Created)
            {
                Interlocked.Increment(ref installations);
            }
            else
            {
                Interlocked.Increment(ref failures);
            }
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            Interlocked.Increment(ref failures);
        }
    }
}

var browsers = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => SignedInClientAsync()));
using var api = new HttpClient();
// Warm up (JIT, connection pools) before measuring.
await Task.WhenAll(browsers.Select(b => WorkerAsync(b, api, DateTime.UtcNow + warmUp, steps.ToDictionary(s => s, _ => new List<double>()))));
(installations, failures) = (0, 0);
var perWorker = browsers.Select(_ => steps.ToDictionary(s => s, _ => new List<double>())).ToArray();
var cpuBefore = BrokerCpu();
var ownCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
var clock = Stopwatch.StartNew();
var until = DateTime.UtcNow + duration;
await Task.WhenAll(browsers.Select((browser, i) => WorkerAsync(browser, api, until, perWorker[i])));
var seconds = clock.Elapsed.TotalSeconds;
var cpuSpent = BrokerCpu() - cpuBefore;
// The driver shares the machine's cores with the broker: its own CPU says how much of them it took.
var ownCpuSpent = Process.GetCurrentProcess().TotalProcessorTime - ownCpuBefore;
foreach (var step in steps)
{
    latencies[step] = perWorker.SelectMany(worker => worker[step]).Order().ToList();
}

// The broker's user + system time so far: fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second on Linux).
TimeSpan BrokerCpu()
{
    if (brokerPid is null)
    {
        return TimeSpan.Zero;
    }
    var stat = File.ReadAllText($"/proc/{brokerPid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return TimeSpan.FromSeconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0);
}

static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

Console.WriteLine($"installations: {installations} in {seconds:F1} s = {installations / seconds:F0}/s (concurrency {concurrency}, failures {failures})");
if (brokerPid is not null && installations > 0)
{
    Console.WriteLine($"  broker CPU {cpuSpent.TotalMilliseconds / installations:F2} ms per installation ({cpuSpent.TotalSeconds / seconds:F2} cores busy); "
        + $"this driver {ownCpuSpent.TotalMilliseconds / installations:F2} ms ({ownCpuSpent.TotalSeconds / seconds:F2} cores)");
}
foreach (var step in steps)
{
    Console.WriteLine($"  {step,-10} p50 {Percentile(latencies[step], 0.50),7:F2} ms   p99 {Percentile(latencies[step], 0.99),7:F2} ms");
}
return failures == 0 ? 0 : 1;
