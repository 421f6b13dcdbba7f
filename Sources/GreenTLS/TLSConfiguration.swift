import CGreenOpenSSL

/// How a TLS endpoint presents itself and whom it trusts: one OpenSSL
/// context, built and checked once, shared by every connection made with it.
///
/// ```swift
/// let server = try TLSConfiguration.server(certificateChain: .file("cert.pem"), privateKey: .file("key.pem"))
/// let client = try TLSConfiguration.client()                         // the system's CAs
/// let pinned = try TLSConfiguration.client(trust: .certificateAuthorities(.file("ca.pem")))
/// ```
///
/// Safe defaults, not knobs: TLS 1.2 and 1.3 only; OpenSSL's default
/// TLS 1.3 suites, AES-128-GCM first (see `tls13Suites`) and, for TLS 1.2,
/// ECDHE with AES-GCM or ChaCha20-Poly1305 only; no renegotiation; no
/// compression; a server sends one session ticket per connection (see
/// `serverTickets`). A client verifies the server's chain and its host name
/// unless built with `insecureClientWithoutVerification(alpn:)`.
///
/// Immutable once built, so it may be shared by every hub and thread
/// (OpenSSL contexts are reference-counted and safe to use concurrently
/// once configured).
public final class TLSConfiguration: @unchecked Sendable {
    /// Which side of the handshake this configuration is for.
    public enum Role: Sendable {
        /// Accepts connections and presents a certificate.
        case server
        /// Opens connections and checks the server's certificate.
        case client
    }

    /// Whom a client trusts to sign a server's certificate.
    public enum Trust: Sendable, Equatable {
        /// The system's CA store (Debian: /etc/ssl/certs, from `ca-certificates`).
        case systemStore
        /// Only the CA certificates in this PEM (one or more).
        case certificateAuthorities(PEM)
    }

    /// Whether a server asks clients for certificates, and whom it trusts to sign them.
    public enum ClientCertificates: Sendable, Equatable {
        /// No client certificates (the usual web server).
        case none
        /// A certificate is asked for; a client without one is let in, one with
        /// a certificate that fails verification is refused.
        case optional(trusting: PEM)
        /// A verified certificate is required (mutual TLS).
        case required(trusting: PEM)
    }

    /// Server or client.
    public let role: Role
    /// Application protocols offered (client) or accepted (server) through
    /// ALPN, most preferred first; empty for none.
    public let alpn: [String]
    /// Whether the peer's certificate is verified (a client: the server's
    /// chain and host name; a server: the client's chain when it asks for one).
    public let verifiesPeer: Bool

    /// The `SSL_CTX`.
    let context: OpaquePointer
    private var alpnList: UnsafeMutablePointer<green_alpn_list>?

    private init(role: Role, alpn: [String], verifiesPeer: Bool) throws {
        guard let ctx = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.invalidConfiguration("OpenSSL could not make a context: \(OpenSSLErrors.take()?.text ?? "?")")
        }
        context = ctx
        self.role = role
        self.alpn = alpn
        self.verifiesPeer = verifiesPeer
        green_ssl_ctx_set_defaults(ctx)
        guard green_ssl_ctx_set_min_proto_version(ctx, TLS1_2_VERSION) == 1,
              green_ssl_ctx_set_max_proto_version(ctx, TLS1_3_VERSION) == 1,
              SSL_CTX_set_cipher_list(ctx, TLSConfiguration.tls12Ciphers) == 1,
              SSL_CTX_set_ciphersuites(ctx, TLSConfiguration.tls13Suites) == 1
        else {
            throw TLSError.invalidConfiguration("OpenSSL refused the protocol versions or ciphers: \(OpenSSLErrors.take()?.text ?? "?")")
        }
        if !alpn.isEmpty { try setALPN(alpn) }
        if role == .server { SSL_CTX_set_num_tickets(ctx, TLSConfiguration.serverTickets) }
    }

    deinit {
        SSL_CTX_free(context)
        if let alpnList {
            alpnList.pointee.wire.deallocate()
            alpnList.deallocate()
        }
    }

    /// TLS 1.3 suites: OpenSSL's three defaults, AES-128-GCM first (as
    /// BoringSSL, Go and Mozilla's configurations order them; OpenSSL puts
    /// AES-256 first). A server picks by its own order: with SHA-256 the key
    /// schedule runs on the CPU's SHA instructions, where OpenSSL's SHA-384
    /// has none, and AES-128 does 10 rounds per block instead of 14. In the
    /// handshake benchmark this cut the server's CPU by about 7% (and the
    /// client's too).
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    /// TLS 1.3 session tickets a server sends per connection (OpenSSL's
    /// default is 2). A ticket lets a client resume once, and a resumed
    /// connection brings a fresh one, so one serves a client that reconnects;
    /// each costs OpenSSL 3.0 about 6% of a full handshake (the session
    /// encoded, decoded and encoded again, encrypted and MACed, three random
    /// draws each with a getpid system call).
    static let serverTickets = 1

    /// TLS 1.2 suites: forward secrecy and AEAD only (Mozilla's "intermediate"
    /// list without finite-field DHE).
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    // MARK: - Servers

    /// A server configuration: the certificate chain (the server's certificate
    /// first, then intermediates) and its private key, both PEM.
    /// - Parameters:
    ///   - clientCertificates: whether to ask clients for certificates (mutual TLS).
    ///   - alpn: protocols accepted, most preferred first ("h2", "http/1.1");
    ///     a client offering none of them goes on without ALPN.
    /// - Throws: `TLSError.invalidConfiguration`: an unreadable or empty PEM, a
    ///   key that does not match the certificate, a bad ALPN name.
    /// - Note: reads files with blocking calls; never switches. Any thread.
    public static func server(
        certificateChain: PEM, privateKey: PEM,
        clientCertificates: ClientCertificates = .none, alpn: [String] = []
    ) throws -> TLSConfiguration {
        let verifies: Bool
        switch clientCertificates {
        case .none: verifies = false
        case .optional, .required: verifies = true
        }
        let c = try TLSConfiguration(role: .server, alpn: alpn, verifiesPeer: verifies)
        try c.useIdentity(chain: certificateChain, key: privateKey)
        switch clientCertificates {
        case .none: break
        case .optional(let ca), .required(let ca):
            var mode = SSL_VERIFY_PEER
            if case .required = clientCertificates { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
            try c.trust(ca, tellingClients: true)
            SSL_CTX_set_verify(c.context, mode, nil)
            // Sessions of a verifying server need an id context, or resumption fails.
            let id: [UInt8] = Array("green-tls".utf8)
            SSL_CTX_set_session_id_context(c.context, id, UInt32(id.count))
        }
        return c
    }

    // MARK: - Clients

    /// A client configuration that verifies the server's certificate chain
    /// against `trust` and its host name against the name connected to.
    /// - Parameters:
    ///   - certificateChain, privateKey: a client certificate to present when
    ///     the server asks for one (both or neither).
    ///   - alpn: protocols offered, most preferred first.
    /// - Throws: `TLSError.invalidConfiguration` (unreadable PEM, key mismatch,
    ///   only one of chain and key, a bad ALPN name).
    /// - Note: reads files with blocking calls; never switches. Any thread.
    public static func client(
        trust: Trust = .systemStore, certificateChain: PEM? = nil, privateKey: PEM? = nil, alpn: [String] = []
    ) throws -> TLSConfiguration {
        let c = try TLSConfiguration(role: .client, alpn: alpn, verifiesPeer: true)
        switch trust {
        case .systemStore:
            if SSL_CTX_set_default_verify_paths(c.context) != 1 {
                throw TLSError.invalidConfiguration("cannot load the system's CA store: \(OpenSSLErrors.take()?.text ?? "?")")
            }
        case .certificateAuthorities(let ca):
            try c.trust(ca, tellingClients: false)
        }
        SSL_CTX_set_verify(c.context, SSL_VERIFY_PEER, nil)
        try c.useClientIdentity(chain: certificateChain, key: privateKey)
        return c
    }

    /// A client configuration that does NOT verify the server: any certificate,
    /// from anyone, for any name, is accepted. An attacker in the path can read
    /// and change everything. For tests against throwaway certificates only.
    /// - Throws: `TLSError.invalidConfiguration` (as `client`).
    /// - Note: never switches. Any thread.
    public static func insecureClientWithoutVerification(
        certificateChain: PEM? = nil, privateKey: PEM? = nil, alpn: [String] = []
    ) throws -> TLSConfiguration {
        let c = try TLSConfiguration(role: .client, alpn: alpn, verifiesPeer: false)
        SSL_CTX_set_verify(c.context, SSL_VERIFY_NONE, nil)
        try c.useClientIdentity(chain: certificateChain, key: privateKey)
        return c
    }

    // MARK: - Building

    private func useClientIdentity(chain: PEM?, key: PEM?) throws {
        switch (chain, key) {
        case (nil, nil): return
        case (let chain?, let key?): try useIdentity(chain: chain, key: key)
        default: throw TLSError.invalidConfiguration("a client certificate needs both its chain and its private key")
        }
    }

    private func useIdentity(chain: PEM, key: PEM) throws {
        let certs = try chain.certificates()
        defer { certs.forEach { X509_free($0) } }
        ERR_clear_error()
        guard SSL_CTX_use_certificate(context, certs[0]) == 1 else {
            throw TLSError.invalidConfiguration("OpenSSL refused the certificate in \(chain): \(OpenSSLErrors.take()?.text ?? "?")")
        }
        for extra in certs.dropFirst() where green_ssl_ctx_add1_chain_cert(context, extra) != 1 {
            throw TLSError.invalidConfiguration("OpenSSL refused a chain certificate in \(chain): \(OpenSSLErrors.take()?.text ?? "?")")
        }
        let pkey = try key.privateKey()
        defer { EVP_PKEY_free(pkey) }
        guard SSL_CTX_use_PrivateKey(context, pkey) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.invalidConfiguration("the private key in \(key) does not match the certificate in \(chain): \(OpenSSLErrors.take()?.text ?? "?")")
        }
    }

    private func trust(_ ca: PEM, tellingClients: Bool) throws {
        let certs = try ca.certificates()
        defer { certs.forEach { X509_free($0) } }
        let store = SSL_CTX_get_cert_store(context)
        for cert in certs {
            ERR_clear_error()
            guard X509_STORE_add_cert(store, cert) == 1 else {
                throw TLSError.invalidConfiguration("OpenSSL refused a CA certificate in \(ca): \(OpenSSLErrors.take()?.text ?? "?")")
            }
            // A server names the CAs it accepts in its certificate request.
            if tellingClients { SSL_CTX_add_client_CA(context, cert) }
        }
    }

    private func setALPN(_ names: [String]) throws {
        var wire: [UInt8] = []
        for name in names {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else {
                throw TLSError.invalidConfiguration("ALPN protocol names are 1 to 255 bytes: '\(name)'")
            }
            wire.append(UInt8(bytes.count))
            wire.append(contentsOf: bytes)
        }
        if role == .client {
            // Note: 0 is success here (OpenSSL's exception to its own rule).
            guard SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0 else {
                throw TLSError.invalidConfiguration("OpenSSL refused the ALPN list \(names)")
            }
        } else {
            // The callback reads the list for the context's whole life; freed in deinit.
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count)
            buffer.initialize(from: wire, count: wire.count)
            let list = UnsafeMutablePointer<green_alpn_list>.allocate(capacity: 1)
            list.initialize(to: green_alpn_list(length: UInt32(wire.count), wire: buffer))
            alpnList = list
            green_ssl_ctx_set_alpn_select(context, list)
        }
    }
}
