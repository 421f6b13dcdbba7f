import Glibc
import Green
import HTTPTypes

/// Files under one directory, served with their content types; nothing
/// outside it, whatever the path says.
///
/// A request path is percent-decoded segment by segment; a segment that is
/// `..`, or holds a NUL or a `/` once decoded, is refused (404), and the file
/// found is resolved (`realpath`, symlinks followed) and must still lie under
/// the root's own resolved path (404 otherwise: a symlink out is refused too).
/// A directory serves its `index.html`. File system calls run on
/// `ThreadPool.shared`, never on the hub.
public struct StaticFiles: Sendable {
    /// The directory served.
    public let root: String
    /// Files up to this size are read in one go; larger ones are streamed in 64 KiB reads.
    public var wholeFileLimit = 1 << 20

    /// Files under `root`.
    public init(root: String) { self.root = root }

    /// The response for `relativePath` (already decoded, as the router's `<path:...>` gives it).
    /// - Throws: `HTTPError` 404 (missing, outside the root, not a regular file), 403 (unreadable).
    /// - Note: switches (the file system calls run on the thread pool).
    public func response(for relativePath: String, request: Request) throws -> Response {
        let segments = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        if segments.contains(where: { $0 == ".." || $0.utf8.contains(0) }) { throw HTTPError(.notFound) }
        let root = self.root
        let wholeFileLimit = self.wholeFileLimit
        let wanted = root + "/" + segments.joined(separator: "/")
        let found = try ThreadPool.shared.run { StaticFiles.open(wanted, root: root, readUpTo: wholeFileLimit) }
        switch found {
        case .missing: throw HTTPError(.notFound)
        case .forbidden: throw HTTPError(.forbidden)
        case .whole(let path, let bytes):
            return Response(status: .ok, headerFields: [.contentType: ContentTypes.type(of: path)], body: .bytes(bytes))
        case .large(let path, let size):
            var fields: HTTPFields = [.contentType: ContentTypes.type(of: path)]
            fields[.contentLength] = String(size)
            return Response(status: .ok, headerFields: fields, body: .stream { writer in
                try StaticFiles.stream(path, size: size, to: writer)
            })
        }
    }

    enum Found {
        case missing, forbidden
        case whole(path: String, bytes: [UInt8])
        case large(path: String, size: Int)
    }

    /// Resolves and checks `wanted`, reading it whole when small. Runs on a pool thread.
    static func open(_ wanted: String, root: String, readUpTo limit: Int) -> Found {
        guard let realRoot = realPath(root) else { return .missing }
        guard var real = realPath(wanted), real == realRoot || real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/")
        else { return .missing }
        var st = stat()
        guard stat(real, &st) == 0 else { return .missing }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            real += "/index.html"
            guard stat(real, &st) == 0 else { return .missing }
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .missing }
        let size = Int(st.st_size)
        if size > limit { return access(real, R_OK) == 0 ? .large(path: real, size: size) : .forbidden }
        let fd = Glibc.open(real, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return errno == EACCES ? .forbidden : .missing }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, size - got, off_t(got)) }
            if n <= 0 { break }
            got += n
        }
        bytes.removeSubrange(got...)
        return .whole(path: real, bytes: bytes)
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Streams a large file, each 64 KiB read on the pool.
    static func stream(_ path: String, size: Int, to writer: BodyWriter) throws {
        let fd = try ThreadPool.shared.run { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw HTTPError(.notFound) }
        defer { close(fd) }
        var offset = 0
        while offset < size {
            let at = offset
            let chunk: [UInt8] = try ThreadPool.shared.run {
                var buf = [UInt8](repeating: 0, count: min(65536, size - at))
                let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, off_t(at)) }
                buf.removeSubrange(max(0, n)...)
                return buf
            }
            if chunk.isEmpty { throw HTTPStreamError.lengthShort(declared: size, written: offset) }
            try writer.write(chunk)
            offset += chunk.count
        }
    }
}

/// Content types by file extension.
public enum ContentTypes {
    static let byExtension: [String: String] = [
        "html": "text/html; charset=utf-8", "htm": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "mjs": "text/javascript; charset=utf-8", "json": "application/json",
        "txt": "text/plain; charset=utf-8", "md": "text/markdown; charset=utf-8",
        "xml": "application/xml", "svg": "image/svg+xml", "png": "image/png",
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "ico": "image/x-icon", "pdf": "application/pdf", "wasm": "application/wasm",
        "woff": "font/woff", "woff2": "font/woff2", "mp4": "video/mp4", "csv": "text/csv; charset=utf-8",
    ]

    /// The content type for `path`'s extension; `application/octet-stream` when unknown.
    public static func type(of path: String) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "application/octet-stream" }
        return byExtension[path[path.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}
