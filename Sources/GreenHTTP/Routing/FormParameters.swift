/// Decoded `name=value` pairs of a query string or an HTML form
/// (`application/x-www-form-urlencoded`), in their order; a name may repeat.
///
/// ```swift
/// let message = try request.form()["message"]
/// let page = request.query["page"].flatMap(Int.init) ?? 1
/// ```
public struct FormParameters: Sendable, Equatable, Sequence {
    /// The pairs, decoded (`+` as space, `%XX` as bytes; invalid UTF-8 as U+FFFD).
    public let pairs: [(name: String, value: String)]

    /// The pairs of `encoded` ("a=1&b=x+y"); a pair without `=` has an empty value.
    public init(encoded: String) {
        var pairs: [(name: String, value: String)] = []
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            if let eq = part.firstIndex(of: "=") {
                pairs.append((PercentEncoding.decode(part[..<eq], plusIsSpace: true),
                              PercentEncoding.decode(part[part.index(after: eq)...], plusIsSpace: true)))
            } else {
                pairs.append((PercentEncoding.decode(part, plusIsSpace: true), ""))
            }
        }
        self.pairs = pairs
    }

    /// Pairs as given (nothing to decode).
    public init(_ pairs: [(name: String, value: String)]) { self.pairs = pairs }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// The pairs encoded again ("a=1&b=x%20y"), for a request body or a URL.
    public var encoded: String {
        pairs.map { "\(PercentEncoding.encode($0.name))=\(PercentEncoding.encode($0.value))" }.joined(separator: "&")
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { pairs.makeIterator() }

    public static func == (a: FormParameters, b: FormParameters) -> Bool {
        a.pairs.count == b.pairs.count && zip(a.pairs, b.pairs).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
