namespace Broker.Core.Tokens;

/// <summary>
/// A key the broker signs JWT access tokens with. Generations number the keys in the order they sign:
/// generation n signs from its <see cref="SignsFrom"/> until generation n + 1 starts. The private half is
/// stored only as the Data Protection key ring protected it.
/// </summary>
public sealed record SigningKey
{
    /// <summary>The <c>kid</c>: the RFC 7638 thumbprint of the public key.</summary>
    public required string KeyId { get; init; }

    public required long Generation { get; init; }

    /// <summary>The JWS algorithm (<c>RS256</c>).</summary>
    public required string Algorithm { get; init; }

    /// <summary>The public key as an RFC 7517 JSON Web Key, as published.</summary>
    public required string PublicJwk { get; init; }

    /// <summary>The private key (PKCS #8) as the key ring protected it; never stored in the clear.</summary>
    public required string ProtectedPrivateKey { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it starts signing; published from <see cref="CreatedAt"/>, so a lead ahead of that.</summary>
    public required DateTimeOffset SignsFrom { get; init; }
}

/// <summary>
/// How keys rotate: each signs for <see cref="RotationInterval"/>; its successor is published
/// <see cref="PublicationLead"/> before it signs (verifiers that cached the key set find the new key
/// there); a key stays published until the last token it signed has expired
/// (<see cref="TokenLifetime"/> plus <see cref="ClockSkew"/>), then it is deleted.
/// </summary>
public sealed record SigningKeyPolicy(TimeSpan RotationInterval, TimeSpan PublicationLead, TimeSpan TokenLifetime)
{
    /// <summary>What verifiers commonly allow a token past its <c>exp</c> (Microsoft.IdentityModel's default).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
}

/// <summary>The rotation schedule: which key signs, which are published, when the next one is made. Pure: the time is given.</summary>
public static class SigningKeySchedule
{
    /// <summary>The key that signs at <paramref name="now"/>: the newest generation already started; null before the first key.</summary>
    public static SigningKey? Signer(IEnumerable<SigningKey> keys, DateTimeOffset now) =>
        keys.Where(key => key.SignsFrom <= now).MaxBy(key => key.Generation);

    /// <summary>
    /// The next generation to make and when it signs, or null while none is due. The first key signs at
    /// once (no verifier holds a key set yet). Every later key signs a full lead after it is made, even
    /// when the broker was stopped past the moment it was due: the current key signs on meanwhile.
    /// </summary>
    public static (long Generation, DateTimeOffset SignsFrom)? Due(IReadOnlyCollection<SigningKey> keys, DateTimeOffset now, SigningKeyPolicy policy)
    {
        var newest = keys.MaxBy(key => key.Generation);
        if (newest is null)
        {
            return (1, now);
        }
        var newestStops = newest.SignsFrom + policy.RotationInterval;
        if (now < newestStops - policy.PublicationLead)
        {
            return null;
        }
        var signsFrom = newestStops > now + policy.PublicationLead ? newestStops : now + policy.PublicationLead;
        return (newest.Generation + 1, signsFrom);
    }

    /// <summary>
    /// True once no token a key signed can still be valid: its successor has signed for longer than a
    /// token lives (plus the clock skew verifiers allow).
    /// </summary>
    public static bool IsRetired(SigningKey key, IEnumerable<SigningKey> keys, DateTimeOffset now, SigningKeyPolicy policy) =>
        keys.Any(later => later.Generation > key.Generation
            && later.SignsFrom + policy.TokenLifetime + SigningKeyPolicy.ClockSkew <= now);

    /// <summary>The keys verifiers need now: every key not retired, the one waiting to sign included.</summary>
    public static IReadOnlyList<SigningKey> Published(IReadOnlyCollection<SigningKey> keys, DateTimeOffset now, SigningKeyPolicy policy) =>
        keys.Where(key => !IsRetired(key, keys, now, policy)).OrderBy(key => key.Generation).ToList();
}
