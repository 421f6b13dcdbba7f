import HTTPTypes

/// Routes requests by method and path pattern, as the seeds' Flask app:
///
/// ```swift
/// let router = Router()
/// router.get("/") { _ in .html(choosePage) }
/// router.post("/put/<room>/<uid>") { request in
///     let room = request.parameters["room"]!
///     ...
/// }
/// router.files("/static", root: "Public")
/// let server = HTTPServer(port: 5000, router: router)
/// ```
///
/// A pattern is `/`-separated segments: a literal, `<name>` (one segment,
/// percent-decoded into `request.parameters["name"]`), or, last,
/// `<path:name>` (the rest of the path, slashes included). Routes are tried
/// in the order added. HEAD runs the GET route (the server sends no body).
/// No route for the path: 404; routes for the path but not the method: 405
/// with `Allow`.
///
/// Build the router before the server starts; it is read by the server's hub only.
public final class Router {
    private enum Segment: Equatable {
        case literal(String)
        case parameter(String)
        case rest(String)
    }

    private struct Route {
        let method: HTTPRequest.Method
        let segments: [Segment]
        let handler: HTTPServer.Handler
    }

    private var routes: [Route] = []

    /// An empty router (everything is 404).
    public init() {}

    /// Adds a route for `method` and `pattern`.
    /// - Note: `pattern` must start with "/"; a bad pattern traps (a programming error).
    public func add(_ method: HTTPRequest.Method, _ pattern: String, _ handler: @escaping HTTPServer.Handler) {
        precondition(pattern.hasPrefix("/"), "a route pattern starts with /: \(pattern)")
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true)
        var segments: [Segment] = []
        for (i, part) in parts.enumerated() {
            if part.hasPrefix("<path:") && part.hasSuffix(">") {
                precondition(i == parts.count - 1, "<path:...> must be the last segment: \(pattern)")
                segments.append(.rest(String(part.dropFirst(6).dropLast())))
            } else if part.hasPrefix("<") && part.hasSuffix(">") {
                segments.append(.parameter(String(part.dropFirst().dropLast())))
            } else {
                segments.append(.literal(String(part)))
            }
        }
        routes.append(Route(method: method, segments: segments, handler: handler))
    }

    /// Adds a GET route (HEAD too).
    public func get(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.get, pattern, handler) }
    /// Adds a POST route.
    public func post(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.post, pattern, handler) }
    /// Adds a PUT route.
    public func put(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.put, pattern, handler) }
    /// Adds a DELETE route.
    public func delete(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.delete, pattern, handler) }
    /// Adds a PATCH route.
    public func patch(_ pattern: String, _ handler: @escaping HTTPServer.Handler) { add(.patch, pattern, handler) }

    /// Serves the files under the directory `root` at `prefix` ("/static"):
    /// GET and HEAD, content types by extension, nothing outside `root`
    /// (see `StaticFiles`).
    public func files(_ prefix: String, root: String) {
        let files = StaticFiles(root: root)
        let base = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        get(base + "/<path:file>") { request in try files.response(for: request.parameters["file"] ?? "", request: request) }
    }

    /// Routes `request` to its handler.
    /// - Throws: `HTTPError` 404 or 405; what the handler throws.
    /// - Note: switches when the handler does.
    public func handle(_ request: Request) throws -> Response {
        let parts = Router.split(request.path)
        var allowed: [HTTPRequest.Method] = []
        for route in routes {
            guard let parameters = Router.match(route.segments, parts) else { continue }
            if route.method == request.method || (request.method == .head && route.method == .get) {
                var request = request
                request.parameters = parameters
                return try route.handler(request)
            }
            allowed.append(route.method)
        }
        if allowed.isEmpty { throw HTTPError(.notFound) }
        if allowed.contains(.get) { allowed.append(.head) }
        var response = ServerConnection.errorResponse(.methodNotAllowed, "")
        response.headerFields[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        return response
    }

    /// The path's segments, raw (percent-encoded).
    static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    private static func match(_ segments: [Segment], _ parts: [Substring]) -> [String: String]? {
        var parameters: [String: String] = [:]
        var i = 0
        for segment in segments {
            switch segment {
            case .rest(let name):
                guard i < parts.count else { return nil }
                parameters[name] = parts[i...].map { PercentEncoding.decode($0) }.joined(separator: "/")
                return parameters
            case .literal(let text):
                guard i < parts.count, PercentEncoding.decode(parts[i]) == text else { return nil }
            case .parameter(let name):
                guard i < parts.count else { return nil }
                parameters[name] = PercentEncoding.decode(parts[i])
            }
            i += 1
        }
        return i == parts.count ? parameters : nil
    }
}
