using Broker.Storage;
using System.Diagnostics;
using System.Net;
using Broker.Hosting;
using Microsoft.Data.Sqlite;

namespace Broker.Tests;

/// <summary>The Data Protection key ring is encrypted at rest, survives restarts, and rotates.</summary>
public sealed class KeyRingProtectionTests : IDisposable
{
    private static readonly string KeyEncryptionKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private readonly string databasePath = Path.Combine(Path.GetTempPath(), $"broker-keyring-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteDialect.ClearAllPools();
        foreach (var suffix in new[] { "", "-wal", "-shm" })
        {
            File.Delete(databasePath + suffix);
        }
    }

    private BrokerFactory Start(string? keyEncryptionKey = null, params string[] previousKeys)
    {
        var broker = new BrokerFactory();
        broker.Settings["Storage:ConnectionString"] = $"Data Source={databasePath}";
        broker.Settings["DataProtection:KeyEncryptionKey"] = keyEncryptionKey;
        for (var i = 0; i < previousKeys.Length; i++)
        {
            broker.Settings[$"DataProtection:PreviousKeyEncryptionKeys:{i}"] = previousKeys[i];
        }
        return broker;
    }

    private async Task<List<string>> StoredKeyRingAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT xml FROM data_protection_keys";
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }

    // Signs in through the login page without a cookie jar, returning the session cookie.
    private static async Task<string> SignInAsync(BrokerFactory broker)
    {
        await broker.CreateUserAsync();
        var http = broker.CreateApiClient();
        var page = await http.GetAsync("/account/login");
        var antiforgery = string.Join("; ", page.Headers.GetValues("Set-Cookie").Select(cookie => cookie.Split(';')[0]));
        var form = await Browser.FormAsync(page, "/account/login");
        form.Fields["email"] = "owner@blog.example";
        form.Fields["password"] = "correct horse battery";
        var post = new HttpRequestMessage(HttpMethod.Post, form.Action) { Content = new FormUrlEncodedContent(form.Fields) };
        post.Headers.Add("Cookie", antiforgery);
        var signedIn = await http.SendAsync(post);
        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        return signedIn.Headers.GetValues("Set-Cookie").Single(cookie => cookie.StartsWith("broker.session=", StringComparison.Ordinal)).Split(';')[0];
    }

    private static async Task<HttpStatusCode> AppsPageAsync(BrokerFactory broker, string session)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/account/apps");
        request.Headers.Add("Cookie", session);
        return (await broker.CreateApiClient().SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task With_a_key_encryption_key_the_stored_ring_holds_no_plaintext_key_material()
    {
        using var broker = Start(KeyEncryptionKey);
        await SignInAsync(broker);

        var stored = await StoredKeyRingAsync();
        stored.Should().NotBeEmpty();
        stored.Should().OnlyContain(xml => xml.Contains(KeyRingXmlDecryptor.ElementName) && !xml.Contains("<masterKey") && !xml.Contains("<value>"));
    }

    [Fact]
    public async Task A_session_made_before_a_restart_works_after_it_with_the_same_key()
    {
        string session;
        using (var before = Start(KeyEncryptionKey))
        {
            session = await SignInAsync(before);
            (await AppsPageAsync(before, session)).Should().Be(HttpStatusCode.OK);
        }
        SqliteDialect.ClearAllPools();

        using var after = Start(KeyEncryptionKey);
        (await AppsPageAsync(after, session)).Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task After_a_rotation_the_previous_key_keeps_old_sessions_readable()
    {
        string session;
        using (var before = Start(KeyEncryptionKey))
        {
            session = await SignInAsync(before);
        }
        SqliteDialect.ClearAllPools();
        var newKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        using (var rotated = Start(newKey, KeyEncryptionKey))
        {
            (await AppsPageAsync(rotated, session)).Should().Be(HttpStatusCode.OK);
        }
        SqliteDialect.ClearAllPools();

        // Without the previous key the old ring cannot be read: the session no longer signs in.
        using var forgotten = Start(newKey);
        (await AppsPageAsync(forgotten, session)).Should().Be(HttpStatusCode.Redirect);
    }

    [Theory]
    [InlineData(null, "Production", KeyRingOptionsValidation.Unprotected)]
    [InlineData("bm90IDMyIGJ5dGVz", "Production", "DataProtection:KeyEncryptionKey must be base64 of exactly 32 bytes")]
    [InlineData("bm90IDMyIGJ5dGVz", "Development", "DataProtection:KeyEncryptionKey must be base64 of exactly 32 bytes")]
    public async Task The_real_process_refuses_to_start_without_a_valid_key_ring_protection(string? key, string environment, string message)
    {
        var environmentVariables = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = environment,
            ["Storage__ConnectionString"] = $"Data Source={databasePath}",
        };
        if (key is not null)
        {
            environmentVariables["DataProtection__KeyEncryptionKey"] = key;
        }
        var (exitCode, output, error) = await BrokerProcess.RunAsync(environmentVariables, "--urls", "http://127.0.0.1:0");

        exitCode.Should().NotBe(0);
        (error + output).Should().Contain(message);
    }
}

/// <summary>The key ring's AES-GCM envelope: only the exact shape the encryptor writes decrypts.</summary>
public sealed class KeyRingEnvelopeTests
{
    private static readonly string Key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static System.Xml.Linq.XElement Encrypted() =>
        new Hosting.KeyRingXmlEncryptor(Hosting.KeyEncryptionKey.Parse(Key)!)
            .Encrypt(new System.Xml.Linq.XElement("key", "material")).EncryptedElement;

    private static Hosting.KeyRingXmlDecryptor Decryptor()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        Microsoft.Extensions.DependencyInjection.OptionsServiceCollectionExtensions.Configure<Hosting.KeyRingOptions>(services, options => options.KeyEncryptionKey = Key);
        return new Hosting.KeyRingXmlDecryptor(Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(services));
    }

    [Fact]
    public void What_the_encryptor_wrote_decrypts()
    {
        Decryptor().Decrypt(Encrypted()).Value.Should().Be("material");
    }

    [Fact]
    public void A_truncated_tag_is_refused_though_a_prefix_of_the_real_tag_would_verify()
    {
        var element = Encrypted();
        var tag = Convert.FromBase64String((string)element.Attribute("tag")!);
        element.SetAttributeValue("tag", Convert.ToBase64String(tag.AsSpan(0, 12)));

        var decrypt = () => Decryptor().Decrypt(element);

        decrypt.Should().Throw<System.Security.Cryptography.CryptographicException>();
    }

    [Theory]
    [InlineData("nonce")]
    [InlineData("tag")]
    [InlineData("keyId")]
    public void An_element_missing_a_part_is_a_cryptographic_failure_naming_it(string attribute)
    {
        var element = Encrypted();
        element.Attribute(attribute)!.Remove();

        var decrypt = () => Decryptor().Decrypt(element);

        decrypt.Should().Throw<System.Security.Cryptography.CryptographicException>();
    }
}
