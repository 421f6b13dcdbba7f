import CGreenOpenSSL
import Glibc

/// PEM-encoded certificates or a private key: a file to read, or the text itself.
public enum PEM: Sendable, Equatable, CustomStringConvertible {
    /// A PEM file's path.
    case file(String)
    /// PEM text ("-----BEGIN CERTIFICATE-----...").
    case text(String)

    public var description: String {
        switch self {
        case .file(let path): return "'\(path)'"
        case .text: return "the PEM text given"
        }
    }

    /// The PEM bytes.
    /// - Throws: `TLSError.invalidConfiguration` when the file cannot be read.
    /// - Note: reads the file with blocking calls: meant for configuration time.
    func bytes() throws -> [UInt8] {
        switch self {
        case .text(let text): return Array(text.utf8)
        case .file(let path):
            guard let f = fopen(path, "rb") else {
                throw TLSError.invalidConfiguration("cannot open \(self): \(String(cString: strerror(errno)))")
            }
            defer { fclose(f) }
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
                if n > 0 { out.append(contentsOf: chunk[..<n]) }
                if n < chunk.count {
                    if ferror(f) != 0 { throw TLSError.invalidConfiguration("cannot read \(self)") }
                    return out
                }
            }
        }
    }

    /// Runs `body` with an OpenSSL memory BIO over the PEM bytes.
    func withBIO<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        let data = try bytes()
        return try data.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw TLSError.invalidConfiguration("out of memory reading \(self)")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Every certificate in the PEM (at least one), each owned by the caller (`X509_free`).
    /// - Throws: `TLSError.invalidConfiguration` when there is none or one is malformed.
    func certificates() throws -> [OpaquePointer] {
        try withBIO { bio in
            var certs: [OpaquePointer] = []
            ERR_clear_error()
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) { certs.append(cert) }
            // Reading past the last certificate leaves "no start line" in the queue: expected.
            let last = ERR_peek_last_error()
            ERR_clear_error()
            if certs.isEmpty {
                let why = last == 0 ? "no certificate" : OpenSSLErrors.reasonText(last)
                throw TLSError.invalidConfiguration("no certificate in \(self): \(why)")
            }
            return certs
        }
    }

    /// The private key in the PEM, owned by the caller (`EVP_PKEY_free`).
    /// - Throws: `TLSError.invalidConfiguration` when there is none.
    func privateKey() throws -> OpaquePointer {
        try withBIO { bio in
            ERR_clear_error()
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                let why = OpenSSLErrors.take()?.text ?? "no key"
                throw TLSError.invalidConfiguration("no private key in \(self): \(why)")
            }
            return key
        }
    }
}
