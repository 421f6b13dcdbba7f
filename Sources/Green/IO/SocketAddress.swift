import Glibc

/// An IPv4 or IPv6 socket address (host and port), as the kernel takes it.
///
/// Make one from a numeric host (`SocketAddress(host: "127.0.0.1", port: 80)`,
/// `SocketAddress(host: "::1", port: 80)`); names go through `Resolver`.
public struct SocketAddress: Hashable, CustomStringConvertible, @unchecked Sendable {
    /// The address family of a socket or address.
    public enum Family: Sendable, Hashable {
        /// IPv4 (`AF_INET`).
        case ipv4
        /// IPv6 (`AF_INET6`).
        case ipv6

        /// The `AF_*` constant.
        public var rawValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    var storage: sockaddr_storage
    var length: socklen_t

    /// A numeric IPv4 or IPv6 address (no name resolution, never switches).
    /// An IPv6 literal may carry a zone (`fe80::1%eth0`) and may be bracketed.
    /// - Throws: `SocketError.invalidAddress` when `host` is not a literal or
    ///   `port` is not in 0...65535.
    public init(host: String, port: Int) throws {
        guard (0...65535).contains(port) else { throw SocketError.invalidAddress("\(host):\(port)") }
        var text = host
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        storage = sockaddr_storage()
        var zone: UInt32 = 0
        if let pct = text.firstIndex(of: "%") {
            zone = if_nametoindex(String(text[text.index(after: pct)...]))
            text = String(text[..<pct])
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            sin.sin_addr = v4
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin, as: sockaddr_in.self) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(port).bigEndian)
            sin6.sin6_addr = v6
            sin6.sin6_scope_id = zone
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: sin6, as: sockaddr_in6.self) }
        } else {
            throw SocketError.invalidAddress(host)
        }
    }

    /// The wildcard address of `family` ("0.0.0.0" or "::") on `port`.
    public static func any(_ family: Family = .ipv4, port: Int) throws -> SocketAddress {
        try SocketAddress(host: family == .ipv4 ? "0.0.0.0" : "::", port: port)
    }

    /// The loopback address of `family` ("127.0.0.1" or "::1") on `port`.
    public static func loopback(_ family: Family = .ipv4, port: Int) throws -> SocketAddress {
        try SocketAddress(host: family == .ipv4 ? "127.0.0.1" : "::1", port: port)
    }

    /// An address copied from what the kernel or `getaddrinfo` filled in.
    init?(raw: UnsafePointer<sockaddr>, length: socklen_t) {
        let family = Int32(raw.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6,
              Int(length) <= MemoryLayout<sockaddr_storage>.size else { return nil }
        storage = sockaddr_storage()
        self.length = length
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(length)))
        }
    }

    /// An address with empty storage, for the kernel to fill in.
    init(empty: ()) {
        storage = sockaddr_storage()
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    }

    /// IPv4 or IPv6.
    public var family: Family { Int32(storage.ss_family) == AF_INET ? .ipv4 : .ipv6 }

    /// The port.
    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            if family == .ipv4 {
                return Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
            }
            return Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
        }
    }

    /// The numeric host ("127.0.0.1", "::1"), without brackets or port.
    public var host: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeBytes(of: storage) { raw in
            if family == .ipv4 {
                var a = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
            } else {
                var a = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
            }
        }
        return String(cString: buf)
    }

    /// The same host on another port.
    public func withPort(_ port: Int) -> SocketAddress {
        var copy = self
        let isV4 = family == .ipv4
        copy.withMutableSockaddr { sa, _ in
            if isV4 {
                sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = in_port_t(UInt16(port).bigEndian) }
            } else {
                sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = in_port_t(UInt16(port).bigEndian) }
            }
        }
        return copy
    }

    /// "host:port", with the host bracketed for IPv6 ("[::1]:80").
    public var description: String {
        family == .ipv4 ? "\(host):\(port)" : "[\(host)]:\(port)"
    }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    mutating func withMutableSockaddr<R>(_ body: (UnsafeMutablePointer<sockaddr>, inout socklen_t) throws -> R) rethrows -> R {
        var len = length
        defer { length = len }
        return try withUnsafeMutableBytes(of: &storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &len)
        }
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.length == b.length && a.withSockaddr { pa, _ in b.withSockaddr { pb, _ in memcmp(pa, pb, Int(a.length)) == 0 } }
    }

    public func hash(into hasher: inout Hasher) {
        withSockaddr { p, len in hasher.combine(bytes: UnsafeRawBufferPointer(start: p, count: Int(len))) }
    }
}
