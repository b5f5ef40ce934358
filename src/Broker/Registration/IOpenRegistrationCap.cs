namespace Broker.Registration;

/// <summary>
/// The tenant's cap on open-registered clients (<c>Registration:MaxOpenClients</c>). The default,
/// <see cref="OpenRegistrationCap"/>, counts this instance's registrations between reads of the
/// database; a store shared by every instance can count them all.
/// </summary>
public interface IOpenRegistrationCap
{
    /// <summary>Whether one more open registration fits under the cap.</summary>
    Task<bool> HasRoomAsync(CancellationToken cancellationToken);

    /// <summary>Counts a registration just made.</summary>
    void Registered();
}
