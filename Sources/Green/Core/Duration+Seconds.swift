extension Duration {
    /// This span in seconds, as libev's `ev_tstamp` wants it.
    @inlinable var greenSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}

/// Checks a caller's timeout: nil means "wait without limit", zero means "do not block".
/// - Throws: `GreenError.negativeTimeout` for a negative span.
@inline(__always)
func validated(_ timeout: Duration?) throws -> Duration? {
    if let t = timeout, t < .zero { throw GreenError.negativeTimeout(t) }
    return timeout
}
