import CGreenOpenSSL

/// Turns OpenSSL's per-thread error queue and verification results into
/// `TLSError`s. The queue is per OS thread and greenlets share the thread:
/// callers clear it right before an OpenSSL call and read it right after,
/// with no switch in between.
enum OpenSSLErrors {
    /// The first error in this thread's queue (the queue is then emptied), or nil.
    static func take() -> (reason: Int32, text: String)? {
        let first = ERR_get_error()
        ERR_clear_error()
        guard first != 0 else { return nil }
        return (ERR_GET_REASON(first), reasonText(first))
    }

    /// OpenSSL's words for an error code, without its numeric prefix.
    static func reasonText(_ code: UInt) -> String {
        if let s = ERR_reason_error_string(code) { return String(cString: s) }
        return "OpenSSL error \(ERR_GET_REASON(code)) in library \(ERR_GET_LIB(code))"
    }

    /// What the queue says after `SSL_ERROR_SSL` on `ssl`.
    static func sessionError(_ ssl: OpaquePointer, expectedName: String?) -> TLSError {
        guard let (reason, text) = take() else { return .protocolError("unknown TLS failure") }
        switch reason {
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            return verificationError(SSL_get_verify_result(ssl), expectedName: expectedName)
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            return .truncated
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            return .peerCertificateMissing
        case Int32(SSL_AD_REASON_OFFSET)...:
            return .peerAlert(alertName(reason - Int32(SSL_AD_REASON_OFFSET), text))
        default:
            return .protocolError(text)
        }
    }

    /// The typed error for an `X509_V_ERR_*` result.
    static func verificationError(_ result: Int, expectedName: String?) -> TLSError {
        switch Int32(result) {
        case X509_V_ERR_CERT_HAS_EXPIRED: return .certificateExpired
        case X509_V_ERR_CERT_NOT_YET_VALID: return .certificateNotYetValid
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            return .hostnameMismatch(expected: expectedName ?? "?")
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return .unknownCA
        default:
            return .certificateInvalid(String(cString: X509_verify_cert_error_string(result)))
        }
    }

    /// The alert's name as the RFC spells it ("unknown CA"), or else from the
    /// error's text ("sslv3 alert certificate expired" -> "certificate expired").
    static func alertName(_ alert: Int32, _ text: String) -> String {
        let name = String(cString: SSL_alert_desc_string_long(alert))
        if name != "unknown" { return name }
        for prefix in ["tlsv13 alert ", "tlsv1 alert ", "sslv3 alert "] where text.hasPrefix(prefix) {
            return String(text.dropFirst(prefix.count))
        }
        return text
    }
}
