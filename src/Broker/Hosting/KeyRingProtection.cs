using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// The <c>DataProtection</c> section: the key that encrypts the Data Protection key ring at rest
/// (in the database or Redis), and the previous ones, kept so that keys encrypted before a rotation
/// stay readable.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";

    /// <summary>Base64 of 32 random bytes (AES-256-GCM); every new key of the ring is encrypted with it.</summary>
    public string? KeyEncryptionKey { get; set; }

    /// <summary>Keys that encrypted the ring before a rotation: only read with, never written with.</summary>
    public string[] PreviousKeyEncryptionKeys { get; set; } = [];

    /// <summary>The current key, or null when the ring is stored unprotected.</summary>
    public KeyEncryptionKey? Current => KeyEncryptionKey is null ? null : Hosting.KeyEncryptionKey.Parse(KeyEncryptionKey);

    /// <summary>Every key the ring may have been encrypted with, by id.</summary>
    public IEnumerable<KeyEncryptionKey> Readable =>
        new[] { KeyEncryptionKey }.Concat(PreviousKeyEncryptionKeys).OfType<string>().Select(Hosting.KeyEncryptionKey.Parse).OfType<KeyEncryptionKey>();
}

/// <summary>A 256-bit key-encryption key and the id stored beside what it encrypted.</summary>
public sealed class KeyEncryptionKey
{
    public const int Bytes = 32;

    private KeyEncryptionKey(byte[] key)
    {
        Key = key;
        // The first 8 bytes of its SHA-256: tells keys apart, and nothing about them.
        Id = Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8));
    }

    public byte[] Key { get; }

    public string Id { get; }

    /// <summary>The key from its base64 form; null when it is not base64 of exactly 32 bytes.</summary>
    public static KeyEncryptionKey? Parse(string text)
    {
        var buffer = new byte[Bytes + 1];
        return Convert.TryFromBase64String(text.Trim(), buffer, out var written) && written == Bytes
            ? new KeyEncryptionKey(buffer[..Bytes])
            : null;
    }
}

/// <summary>
/// Refuses to start outside Development and Testing while the key ring would be stored in plain
/// text: whoever reads the database (a backup, a replica, a support dump) could forge every
/// session cookie and antiforgery token.
/// </summary>
public sealed class KeyRingOptionsValidation(IHostEnvironment environment) : IValidateOptions<KeyRingOptions>
{
    public const string Unprotected =
        "the Data Protection key ring would be stored unencrypted: set DataProtection:KeyEncryptionKey to base64 of 32 random bytes (openssl rand -base64 32)";

    public ValidateOptionsResult Validate(string? name, KeyRingOptions options)
    {
        // Reject keys that are not 256-bit base64: a typo must not silently leave the ring unprotected.
        if (options.KeyEncryptionKey is not null && options.Current is null)
        {
            return ValidateOptionsResult.Fail("DataProtection:KeyEncryptionKey must be base64 of exactly 32 bytes");
        }
        if (options.PreviousKeyEncryptionKeys.Any(key => KeyEncryptionKey.Parse(key) is null))
        {
            return ValidateOptionsResult.Fail("DataProtection:PreviousKeyEncryptionKeys must each be base64 of exactly 32 bytes");
        }
        // Reject an unprotected ring where it matters; Development and the tests may run without one.
        if (options.Current is null && !IsUnprotectedAllowed(environment))
        {
            return ValidateOptionsResult.Fail(Unprotected);
        }
        return ValidateOptionsResult.Success;
    }

    public static bool IsUnprotectedAllowed(IHostEnvironment environment) =>
        environment.IsDevelopment() || environment.IsEnvironment("Testing");
}

/// <summary>
/// Encrypts each key-ring element with AES-256-GCM under the current key-encryption key. The key's
/// id is stored beside it, so the decryptor finds the right key after a rotation.
/// </summary>
public sealed class KeyRingXmlEncryptor(KeyEncryptionKey key) : IXmlEncryptor
{
    internal const int NonceBytes = 12;
    internal const int TagBytes = 16;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagBytes];
        using (var aes = new AesGcm(key.Key, TagBytes))
        {
            aes.Encrypt(nonce, plaintext, ciphertext, tag, KeyRingXmlDecryptor.AssociatedData(key.Id));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement(KeyRingXmlDecryptor.ElementName,
            new XAttribute("keyId", key.Id),
            new XAttribute("nonce", Convert.ToBase64String(nonce)),
            new XAttribute("tag", Convert.ToBase64String(tag)),
            Convert.ToBase64String(ciphertext));
        return new EncryptedXmlInfo(element, typeof(KeyRingXmlDecryptor));
    }
}

/// <summary>
/// Decrypts what <see cref="KeyRingXmlEncryptor"/> wrote, with whichever configured key (current or
/// previous) has its id. Data Protection finds this type by the name stored in the ring: never
/// rename or move it.
/// </summary>
public sealed class KeyRingXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public const string ElementName = "brokerEncryptedKey";

    public XElement Decrypt(XElement encryptedElement)
    {
        var keyId = (string?)encryptedElement.Attribute("keyId");
        var key = services.GetRequiredService<IOptions<KeyRingOptions>>().Value.Readable.FirstOrDefault(candidate => candidate.Id == keyId)
            ?? throw new CryptographicException(
                $"The key ring element was encrypted with key-encryption key {keyId}, which is neither DataProtection:KeyEncryptionKey nor one of DataProtection:PreviousKeyEncryptionKeys.");
        // Accept only the shape the encryptor writes: a shortened tag (a prefix of the real one still
        // verifies in GCM) or a missing part is a tampered element, refused as such.
        var nonce = Part(encryptedElement, "nonce", KeyRingXmlEncryptor.NonceBytes);
        var tag = Part(encryptedElement, "tag", KeyRingXmlEncryptor.TagBytes);
        var ciphertext = Convert.FromBase64String(encryptedElement.Value);
        var plaintext = new byte[ciphertext.Length];
        using (var aes = new AesGcm(key.Key, KeyRingXmlEncryptor.TagBytes))
        {
            aes.Decrypt(nonce, ciphertext, tag, plaintext, AssociatedData(key.Id));
        }
        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] Part(XElement element, string name, int length)
    {
        var bytes = new byte[length];
        return (string?)element.Attribute(name) is { } text && Convert.TryFromBase64String(text, bytes, out var written) && written == length
            ? bytes
            : throw new CryptographicException($"The key ring element's {name} is missing or not {length} bytes: it was not written by this broker, or was changed.");
    }

    // Binds the ciphertext to its purpose and key id.
    internal static byte[] AssociatedData(string keyId) => Encoding.ASCII.GetBytes($"broker-key-ring/{keyId}");
}
