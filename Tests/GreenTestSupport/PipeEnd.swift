import Glibc

/// This process's end of one of a child's standard-stream pipes, with what
/// was read past a line end and not handed out yet. Used by one thread at a
/// time (see `ChildProcess`).
final class PipeEnd {
    /// "stdin", "stdout" or "stderr", for errors.
    let name: String
    /// The descriptor; -1 once closed.
    private(set) var fd: Int32
    /// Bytes read but not handed out yet (by `readLine`).
    var buffer: [UInt8] = []

    init(_ fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    var isOpen: Bool { fd >= 0 }

    /// Closes the descriptor (again: nothing).
    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Makes reads and writes here return EAGAIN instead of blocking (`communicate`).
    func setNonBlocking() {
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// One `read` of up to 64 KiB: the bytes; empty at end of file (the
    /// descriptor is then closed, and a closed end reads as end of file);
    /// nil when it would block (non-blocking mode only).
    /// - Throws: `ChildProcessError.readFailed`.
    func readSome() throws -> [UInt8]? {
        guard fd >= 0 else { return [] }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n > 0 { return Array(chunk[..<n]) }
            if n == 0 {
                close()
                return []
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: return nil
            default: throw ChildProcessError.readFailed(errno: errno)
            }
        }
    }

    /// One `write` of the start of `bytes` with SIGPIPE blocked on this thread
    /// (a child that closed its end gives EPIPE, not a signal that ends this
    /// process): how many bytes went; nil when it would block.
    /// - Throws: `ChildProcessError.writeFailed` (EPIPE among others), `.notAPipe` once closed.
    func writeSome(_ bytes: ArraySlice<UInt8>) throws -> Int? {
        guard fd >= 0 else { throw ChildProcessError.notAPipe(name) }
        var sigpipe = sigset_t(), old = sigset_t()
        sigemptyset(&sigpipe)
        sigaddset(&sigpipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &sigpipe, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        while true {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n >= 0 { return n }
            let e = errno
            switch e {
            case EINTR: continue
            case EAGAIN: return nil
            case EPIPE:
                // The SIGPIPE the write raised is pending on this thread: take it
                // back before the old mask returns (unless it was blocked before).
                var pending = sigset_t()
                sigpending(&pending)
                if sigismember(&old, SIGPIPE) == 0, sigismember(&pending, SIGPIPE) == 1 {
                    var now = timespec(tv_sec: 0, tv_nsec: 0)
                    _ = sigtimedwait(&sigpipe, nil, &now)
                }
                throw ChildProcessError.writeFailed(errno: e)
            default: throw ChildProcessError.writeFailed(errno: e)
            }
        }
    }
}
