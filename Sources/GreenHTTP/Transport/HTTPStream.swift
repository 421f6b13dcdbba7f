import Green

/// The connection an HTTP server or client speaks over: Green's `ByteStream`,
/// an ordered stream of bytes that parks the greenlet, never the hub.
/// `Socket` is one (`http://`); `GreenTLS.TLSStream` is another (`https://`),
/// so the server and the client run unchanged, with no copy, over either.
///
/// Kept as a name for code written against it before `ByteStream` existed.
public typealias HTTPStream = ByteStream
