import Glibc

/// Name resolution off the hub: `getaddrinfo` runs on `ThreadPool.shared`.
public enum Resolver {
    /// The addresses of `host` on `port`, in `getaddrinfo`'s order.
    ///
    /// A numeric host ("127.0.0.1", "::1") is parsed on the spot without the
    /// pool; "" and "*" mean the IPv4 wildcard. A name is looked up on a worker
    /// thread while the calling greenlet waits cooperatively.
    /// - Parameters:
    ///   - family: only this family; nil for both.
    ///   - kind: the socket kind the addresses are for.
    /// - Throws: `SocketError.resolutionFailed`; `SocketError.invalidAddress`
    ///   for a port out of range; `SocketError.timedOut`; injected errors.
    /// - Note: switches when `host` is a name.
    public static func resolve(
        host: String, port: Int, family: SocketAddress.Family? = nil,
        kind: Socket.Kind = .stream, timeout: Duration? = nil
    ) throws -> [SocketAddress] {
        if host.isEmpty || host == "*" { return [try .any(family ?? .ipv4, port: port)] }
        if let numeric = try? SocketAddress(host: host, port: port) {
            if let family, numeric.family != family {
                throw SocketError.resolutionFailed(host: host, code: EAI_FAMILY, message: "address family mismatch")
            }
            return [numeric]
        }
        guard (0...65535).contains(port) else { throw SocketError.invalidAddress("\(host):\(port)") }
        let familyValue = family?.rawValue ?? AF_UNSPEC
        let kindValue = kind.rawValue
        let outcome: Result<[SocketAddress], SocketError> = try ThreadPool.shared.run(timeout: timeout) {
            var hints = addrinfo()
            hints.ai_family = familyValue
            hints.ai_socktype = kindValue
            // No AI_ADDRCONFIG: on a machine with loopback only it hides "localhost".
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &list)
            if rc != 0 {
                return .failure(.resolutionFailed(host: host, code: rc, message: String(cString: gai_strerror(rc))))
            }
            defer { freeaddrinfo(list) }
            var found: [SocketAddress] = []
            var node = list
            while let n = node {
                if let sa = n.pointee.ai_addr, let a = SocketAddress(raw: sa, length: n.pointee.ai_addrlen),
                   !found.contains(a) {
                    found.append(a)
                }
                node = n.pointee.ai_next
            }
            return .success(found)
        }
        let addresses = try outcome.get()
        if addresses.isEmpty {
            throw SocketError.resolutionFailed(host: host, code: EAI_NONAME, message: "no address")
        }
        return addresses
    }
}
