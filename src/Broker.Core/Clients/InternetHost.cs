using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Broker.Core.Clients;

/// <summary>
/// A URI's host as a browser would resolve it: a lowercase DNS name without trailing dots, or an
/// IP address. Every host check runs on this one form, so that spellings a browser reads as the same
/// host (<c>127.0.0.1.</c>, <c>0x7f.1</c>, <c>2130706433</c>, <c>LOCALHOST.</c>, <c>[::ffff:10.0.0.1]</c>)
/// cannot slip past a check written for the usual one.
/// </summary>
public sealed record InternetHost(string Name, IPAddress? Address)
{
    /// <summary>
    /// The host of an absolute URI as written (not as <see cref="Uri"/> canonicalised it), normalised;
    /// null when the URI has no host or the host is malformed.
    /// </summary>
    public static InternetHost? FromUri(string uri)
    {
        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return null;
        }
        var start = schemeEnd + 3;
        // Browsers read a backslash as a slash in http(s) URIs, so it ends the authority too.
        var end = uri.IndexOfAny(['/', '\\', '?', '#'], start);
        var authority = end < 0 ? uri[start..] : uri[start..end];
        authority = authority[(authority.LastIndexOf('@') + 1)..];
        var portColon = authority.LastIndexOf(':');
        var host = portColon > authority.LastIndexOf(']') ? authority[..portColon] : authority;
        return Parse(host);
    }

    /// <summary>A host as written in a URI's authority, normalised; null when malformed.</summary>
    public static InternetHost? Parse(string host)
    {
        // Reject percent-encoding and anything but printable ASCII: a host is matched as one string.
        if (host.Length == 0 || host.Any(c => c is '%' or <= ' ' or > '~'))
        {
            return null;
        }
        if (host.StartsWith('['))
        {
            return host.EndsWith(']') && IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6
                ? new InternetHost(v6.ToString(), v6)
                : null;
        }
        // A trailing dot names the same host (the DNS root); so does any letter case.
        var name = host.TrimEnd('.').ToLowerInvariant();
        if (name.Length == 0)
        {
            return null;
        }
        var lastLabel = name[(name.LastIndexOf('.') + 1)..];
        // A host whose last label is a number is an IPv4 address to a browser (WHATWG URL), in any of
        // its forms, or it is no host at all.
        if (IsNumber(lastLabel))
        {
            var v4 = ParseIPv4(name);
            return v4 is null ? null : new InternetHost(v4.ToString(), v4);
        }
        try
        {
            var ascii = new IdnMapping { UseStd3AsciiRules = false }.GetAscii(name);
            return new InternetHost(ascii, null);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>localhost, a <c>.localhost</c> name (RFC 6761), or a loopback address.</summary>
    public bool IsLoopback =>
        Name == "localhost" || Name.EndsWith(".localhost", StringComparison.Ordinal)
        || (Address is not null && IPAddress.IsLoopback(Unmapped(Address)));

    /// <summary>
    /// A name or address a public URI must not point at: localhost, or a loopback, private, shared
    /// (100.64/10), link-local, unspecified, multicast or reserved address, also inside IPv6.
    /// </summary>
    public bool IsInternal => IsLoopback || (Address is not null && IsInternalAddress(Unmapped(Address)));

    private static bool IsInternalAddress(IPAddress address)
    {
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return true;
        }
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // Link-local fe80::/10, site-local fec0::/10, unique-local fc00::/7, multicast ff00::/8.
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xfe) == 0xfc;
        }
        return b[0] is 0 or 10 or 127 or >= 224
            || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }

    // An IPv4 address inside IPv6 (mapped ::ffff:a.b.c.d, the deprecated compatible ::a.b.c.d, NAT64's
    // 64:ff9b::a.b.c.d and 6to4's 2002:aabb:ccdd::/48) reaches that IPv4 host where a NAT64 gateway or a
    // 6to4 relay exists, so it is judged as that address.
    private static IPAddress Unmapped(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }
        var b = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            {
                return new IPAddress(b.AsSpan(12));
            }
            if (b[0] == 0x20 && b[1] == 0x02)
            {
                return new IPAddress(b.AsSpan(2, 4));
            }
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0
            && b.AsSpan(12).IndexOfAnyExcept((byte)0) >= 0 && !IPAddress.IsLoopback(address))
        {
            return new IPAddress(b.AsSpan(12));
        }
        return address;
    }

    private static bool IsNumber(string label) =>
        label.Length > 0 && (label.All(char.IsAsciiDigit)
            || (label.StartsWith("0x", StringComparison.Ordinal) && label[2..].All(char.IsAsciiHexDigit)));

    // The WHATWG URL IPv4 parser: one to four parts, each decimal, 0x-hex or 0-octal; the last part
    // fills the remaining bytes (127.1 is 127.0.0.1, 2130706433 is 127.0.0.1).
    private static IPAddress? ParseIPv4(string host)
    {
        var parts = host.Split('.');
        if (parts.Length > 4)
        {
            return null;
        }
        var numbers = new ulong[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryParseIPv4Number(parts[i], out numbers[i]) || (i < parts.Length - 1 && numbers[i] > 255))
            {
                return null;
            }
        }
        var last = numbers[^1];
        if (last >= 1UL << (8 * (5 - parts.Length)))
        {
            return null;
        }
        ulong value = last;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            value += numbers[i] << (8 * (3 - i));
        }
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    private static bool TryParseIPv4Number(string part, out ulong value)
    {
        value = 0;
        if (part.Length == 0 || part.Length > 34)
        {
            return false;
        }
        if (part.StartsWith("0x", StringComparison.Ordinal))
        {
            return part.Length == 2 || ulong.TryParse(part[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        if (part.Length > 1 && part[0] == '0')
        {
            if (!part.All(c => c is >= '0' and <= '7'))
            {
                return false;
            }
            foreach (var digit in part)
            {
                if (value > (ulong.MaxValue >> 3))
                {
                    return false;
                }
                value = (value << 3) + (ulong)(digit - '0');
            }
            return true;
        }
        return ulong.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
