import Glibc
import Green

/// What a thread whose hub has greenlets leaves behind when it ends (issue 14,
/// item 1): each case runs `warmUp` threads (glibc's arenas and thread-stack
/// cache settle), then `threads` more, one after another, and prints the growth
/// of resident memory, open descriptors and `/proc/self/maps` lines over those.
///
/// Cases: `idle` (a hub and nothing parked), `sleeping` (a greenlet asleep for
/// an hour), `socket` (a greenlet parked reading one end of a socket pair that
/// it owns, both ends closed by its `defer` when the ending hub unwinds it).
func threadExitFigures(case name: String, threads: Int = 1000, warmUp: Int = 100) throws {
    let body: () throws -> Void
    switch name {
    case "idle":
        body = { try yieldGreenlet() }
    case "sleeping":
        body = {
            spawn(name: "sleeper") { try sleep(.seconds(3600)) }
            try yieldGreenlet()
        }
    case "socket":
        body = {
            var fds: [Int32] = [0, 0]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
                fatalError("socketpair: \(errno)")
            }
            let mine = Socket(adopting: fds[0], family: .ipv4)
            let theirs = Socket(adopting: fds[1], family: .ipv4)
            spawn(name: "reader") {
                defer { theirs.close(); mine.close() }
                _ = try theirs.recv(maxBytes: 16)
            }
            try yieldGreenlet()  // the reader parks on its socket
        }
    default:
        print("unknown case \(name)")
        exit(64)
    }
    for _ in 0..<warmUp { try runInNewThread(body) }
    let before = (rss: residentBytes(), fds: openDescriptorCount(), maps: mappingCount())
    for _ in 0..<threads { try runInNewThread(body) }
    let after = (rss: residentBytes(), fds: openDescriptorCount(), maps: mappingCount())
    print("case=\(name) threads=\(threads) rss=\(after.rss - before.rss) fds=\(after.fds - before.fds) maps=\(after.maps - before.maps)")
}

/// Entries of /proc/self/fd (the directory's own descriptor not counted).
func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var n = 0
    while let entry = readdir(dir) {
        let first = withUnsafeBytes(of: entry.pointee.d_name) { $0[0] }
        if first != UInt8(ascii: ".") { n += 1 }
    }
    return n - 1
}

/// Lines of /proc/self/maps: the kernel's mappings of this process.
func mappingCount() -> Int {
    guard let f = fopen("/proc/self/maps", "r") else { return -1 }
    defer { fclose(f) }
    var n = 0
    while true {
        let c = getc(f)
        if c == EOF { break }
        if c == 10 { n += 1 }
    }
    return n
}
