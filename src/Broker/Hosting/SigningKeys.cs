using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Broker.Core.Stores;
using Broker.Core.Tokens;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Hosting;

/// <summary>A public key as RFC 7517 publishes it.</summary>
public sealed record PublicJsonWebKey(
    [property: JsonPropertyName("kty")] string KeyType,
    [property: JsonPropertyName("use")] string Use,
    [property: JsonPropertyName("alg")] string Algorithm,
    [property: JsonPropertyName("kid")] string KeyId,
    [property: JsonPropertyName("n")] string Modulus,
    [property: JsonPropertyName("e")] string Exponent);

/// <summary>
/// The keys that sign JWT access tokens, shared by every instance through the database: made when the
/// schedule (<see cref="SigningKeySchedule"/>) says, their private halves protected by the Data
/// Protection key ring (itself encrypted at rest), read again at most every <see cref="RefreshInterval"/>.
/// </summary>
public sealed class SigningKeys(
    ISigningKeyStore store, IDataProtectionProvider dataProtection, IOptions<TokenOptions> options, TimeProvider time, ILogger<SigningKeys> logger)
    : IDisposable
{
    public const string Algorithm = SecurityAlgorithms.RsaSha256;

    /// <summary>How stale an instance's view of the keys may be: far shorter than the publication lead.</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);

    private const int RsaKeyBits = 2048;

    // The purpose string isolates these payloads from every other use of the key ring: never change it,
    // or stored keys become unreadable.
    private readonly IDataProtector protector = dataProtection.CreateProtector("Broker.SigningKeys.v1");
    private readonly SigningKeyPolicy policy = new(options.Value.KeyRotationInterval, options.Value.KeyPublicationLead, options.Value.Lifetime);
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private readonly ConcurrentDictionary<string, SigningCredentials> credentials = new(StringComparer.Ordinal);
    private volatile Loaded? loaded;

    // Keys already reported unreadable: logged once each, not on every token request they fail.
    private readonly ConcurrentDictionary<string, byte> unreadableReported = new(StringComparer.Ordinal);

    private sealed record Loaded(IReadOnlyList<SigningKey> Keys, DateTimeOffset At);

    /// <summary>The credentials of the key that signs now.</summary>
    public async ValueTask<SigningCredentials> SignerAsync(CancellationToken cancellationToken)
    {
        var keys = await KeysAsync(cancellationToken);
        var signer = SigningKeySchedule.Signer(keys, time.GetUtcNow())
            ?? throw new InvalidOperationException("No signing key has started signing yet.");
        return credentials.GetOrAdd(signer.KeyId, _ => Unprotect(signer));
    }

    /// <summary>The public keys verifiers need now, the next one included.</summary>
    public async ValueTask<IReadOnlyList<SigningKey>> PublishedAsync(CancellationToken cancellationToken) =>
        SigningKeySchedule.Published(await KeysAsync(cancellationToken), time.GetUtcNow(), policy);

    private async ValueTask<IReadOnlyList<SigningKey>> KeysAsync(CancellationToken cancellationToken)
    {
        if (Fresh() is { } keys)
        {
            return keys;
        }
        await refreshing.WaitAsync(cancellationToken);
        try
        {
            return Fresh() ?? await RefreshAsync(cancellationToken);
        }
        finally
        {
            refreshing.Release();
        }
    }

    private IReadOnlyList<SigningKey>? Fresh()
    {
        var now = time.GetUtcNow();
        return loaded is { } current && now >= current.At && now - current.At < RefreshInterval ? current.Keys : null;
    }

    // Makes the next key when it is due (of racing instances one inserts it, the others read it) and
    // deletes the keys no valid token can name any more.
    private async Task<IReadOnlyList<SigningKey>> RefreshAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var keys = await store.ListAsync(cancellationToken);
        if (SigningKeySchedule.Due(keys, now, policy) is { } due)
        {
            if (await store.AddAsync(NewKey(due.Generation, due.SignsFrom, now), cancellationToken))
            {
                logger.LogInformation("Made signing key generation {Generation}; it signs from {SignsFrom:O}", due.Generation, due.SignsFrom);
            }
            keys = await store.ListAsync(cancellationToken);
        }
        var retired = keys.Where(key => SigningKeySchedule.IsRetired(key, keys, now, policy)).ToList();
        if (retired.Count > 0)
        {
            // A key retires once a later one has signed long enough, so every older key has retired too.
            await store.DeleteThroughAsync(retired.Max(key => key.Generation), cancellationToken);
            foreach (var key in retired)
            {
                credentials.TryRemove(key.KeyId, out _);
            }
            keys = keys.Except(retired).ToList();
        }
        loaded = new Loaded(keys, now);
        return keys;
    }

    private SigningKey NewKey(long generation, DateTimeOffset signsFrom, DateTimeOffset now)
    {
        using var rsa = RSA.Create(RsaKeyBits);
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        var publicKey = new JsonWebKey
        {
            Kty = JsonWebAlgorithmsKeyTypes.RSA,
            N = Base64UrlEncoder.Encode(parameters.Modulus),
            E = Base64UrlEncoder.Encode(parameters.Exponent),
        };
        // RFC 7638: the kid names the key itself, the same on every instance.
        var keyId = Base64UrlEncoder.Encode(publicKey.ComputeJwkThumbprint());
        var privateKey = rsa.ExportPkcs8PrivateKey();
        try
        {
            return new SigningKey
            {
                KeyId = keyId,
                Generation = generation,
                Algorithm = Algorithm,
                PublicJwk = JsonSerializer.Serialize(new PublicJsonWebKey(publicKey.Kty, "sig", Algorithm, keyId, publicKey.N, publicKey.E)),
                ProtectedPrivateKey = Convert.ToBase64String(protector.Protect(privateKey)),
                CreatedAt = now,
                SignsFrom = signsFrom,
            };
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    private SigningCredentials Unprotect(SigningKey key)
    {
        byte[] privateKey;
        try
        {
            privateKey = protector.Unprotect(Convert.FromBase64String(key.ProtectedPrivateKey));
        }
        catch (Exception exception) when (exception is CryptographicException or FormatException)
        {
            // The key ring that protected it is not this one (lost, replaced, or another KeyEncryptionKey):
            // no token can be signed until it is back, and nothing a caller sends changes that.
            if (unreadableReported.TryAdd(key.KeyId, 0))
            {
                logger.LogCritical(exception,
                    "Signing key {KeyId} cannot be read with this Data Protection key ring; no JWT can be issued until the key ring it was protected with is restored",
                    key.KeyId);
            }
            throw new SigningKeyUnreadableException(key.KeyId, exception);
        }
        try
        {
            var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(privateKey, out _);
            return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = key.KeyId }, key.Algorithm);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(privateKey);
        }
    }

    public void Dispose() => refreshing.Dispose();
}

/// <summary>The signing key's private half cannot be read with this key ring: tokens cannot be signed (a 503, not the caller's fault).</summary>
public sealed class SigningKeyUnreadableException(string keyId, Exception inner)
    : Exception($"signing key {keyId} cannot be read with this Data Protection key ring", inner);

