import Glibc

/// Signalling and reaping. The child is reaped under `reaped`'s lock, and a
/// signal is sent only under it while the child is not reaped yet: so a
/// signal never reaches a process that got the child's pid after it.
/// Blocking waits use `waitid(WNOWAIT)`, which waits without reaping and
/// without the lock (so `kill` from another thread is not held up).
extension ChildProcess {
    /// Sends `signal` (default SIGKILL) to the child; nothing once it was reaped.
    /// - Throws: `ChildProcessError.signalFailed` (e.g. EINVAL for a bad signal number).
    /// Never switches or blocks. Any thread.
    public func kill(_ signal: Int32 = SIGKILL) throws {
        let pid = processIdentifier
        try reaped.withLock { status throws(ChildProcessError) in
            guard status == nil else { return }
            if Glibc.kill(pid, signal) != 0, errno != ESRCH { throw .signalFailed(errno: errno) }
        }
    }

    /// Sends SIGTERM to the child; nothing once it was reaped.
    /// - Throws: `ChildProcessError.signalFailed`. Never switches or blocks. Any thread.
    public func terminate() throws { try kill(SIGTERM) }

    /// Whether the child has not ended yet (reaps it if it has).
    /// Never switches or blocks. Any thread. A failing `waitpid` counts as ended.
    public var isRunning: Bool {
        do { return try reap() == nil } catch { return false }
    }

    /// Waits for the child to end and returns how it ended; at once if it had
    /// ended before. May be called again, and from several threads at once.
    /// - Throws: `ChildProcessError.waitFailed` (ECHILD if something else in this
    ///   process reaped it). Blocks the calling thread; never switches. Any thread.
    public func waitUntilExit() throws -> Status {
        while true {
            if let status = try reap() { return status }
            var info = siginfo_t()
            if waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOWAIT) != 0 {
                let e = errno
                if e == EINTR { continue }
                if e == ECHILD, let status = reaped.withLock({ $0 }) { return status }
                throw ChildProcessError.waitFailed(errno: e)
            }
        }
    }

    /// Reaps the child if it has ended (never waits); its status, or nil while it runs.
    /// - Throws: `ChildProcessError.waitFailed`.
    func reap() throws -> Status? {
        let pid = processIdentifier
        return try reaped.withLock { status throws(ChildProcessError) -> Status? in
            if let status { return status }
            var raw: Int32 = 0
            while true {
                let r = waitpid(pid, &raw, WNOHANG)
                if r == pid {
                    status = Status(waitStatus: raw)
                    return status
                }
                if r == 0 { return nil }
                if errno != EINTR { throw .waitFailed(errno: errno) }
            }
        }
    }

    /// Waits for the child to end until `deadline` (nil: as long as it takes);
    /// past it kills it, reaps it and throws `ChildProcessError.timedOut`.
    /// Polls (a few ms apart) only when there is a deadline. Blocks the thread.
    func waitUntilExit(deadline: ContinuousClock.Instant?, limit: Duration) throws -> Status {
        guard let deadline else { return try waitUntilExit() }
        var pause: UInt32 = 1_000
        while true {
            if let status = try reap() { return status }
            if ContinuousClock.now >= deadline { try giveUp(limit) }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// Kills the child (SIGKILL), closes the pipes, reaps it and throws
    /// `ChildProcessError.timedOut`: the end of a guard that ran out.
    func giveUp(_ limit: Duration) throws -> Never {
        try? kill(SIGKILL)
        input?.close()
        outputs.stdout?.close()
        outputs.stderr?.close()
        _ = try? waitUntilExit()
        throw ChildProcessError.timedOut(executable, after: limit)
    }
}
