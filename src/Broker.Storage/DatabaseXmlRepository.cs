using System.Xml.Linq;
using Broker.Storage.Stores;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Broker.Storage;

/// <summary>
/// Data Protection's key ring in the shared database, so that every instance protects and unprotects
/// with the same keys (cookies, antiforgery tokens) without Redis.
/// </summary>
public sealed class DatabaseXmlRepository(DataProtectionKeyStore store, TimeProvider time) : IXmlRepository
{
    // IXmlRepository is synchronous. Data Protection calls it at start, when a key is created, and when
    // its cached key ring expires (about daily), off the request path; so blocking here is bounded.
    public IReadOnlyCollection<XElement> GetAllElements() =>
        store.ListAsync().GetAwaiter().GetResult().Select(xml => XElement.Parse(xml)).ToList();

    public void StoreElement(XElement element, string friendlyName)
    {
        var name = string.IsNullOrWhiteSpace(friendlyName) ? Guid.NewGuid().ToString("N") : friendlyName;
        store.StoreAsync(name, element.ToString(SaveOptions.DisableFormatting), time.GetUtcNow()).GetAwaiter().GetResult();
    }
}
