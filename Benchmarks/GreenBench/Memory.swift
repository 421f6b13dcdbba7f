/// Memory: the process's resident set size, read from /proc/self/statm (Linux).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum Memory {
    /// Resident memory in bytes: the second field of /proc/self/statm (pages) times the page size,
    /// or nil where that file can't be read.
    static func residentBytes() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer -> Int? in
            let count = read(fd, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            // "size resident shared text lib data dt", all in pages.
            let fields = String(decoding: buffer[..<count], as: UTF8.self).split(separator: " ")
            guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
            return pages * sysconf(Int32(_SC_PAGESIZE))
        }
    }
}
