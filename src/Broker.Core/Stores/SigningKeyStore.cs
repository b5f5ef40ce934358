using Broker.Core.Tokens;

namespace Broker.Core.Stores;

/// <summary>The keys that sign JWT access tokens, shared by every instance.</summary>
public interface ISigningKeyStore
{
    /// <summary>Every stored key, oldest generation first.</summary>
    Task<IReadOnlyList<SigningKey>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a new generation; false (nothing written) when that generation exists already, so that of
    /// instances racing to make the next key exactly one succeeds and the others read its key.
    /// </summary>
    Task<bool> AddAsync(SigningKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes the keys up to and including <paramref name="generation"/> (retired: no token they signed is
    /// still valid; keys retire oldest first); how many.
    /// </summary>
    Task<int> DeleteThroughAsync(long generation, CancellationToken cancellationToken = default);
}
