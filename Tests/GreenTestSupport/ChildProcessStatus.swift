extension ChildProcess {
    /// How a child process ended: its exit code, or the signal that ended it.
    public enum Status: Hashable, Sendable, CustomStringConvertible {
        /// It called `exit` (or returned from `main`) with this code (0...255).
        case exited(Int32)
        /// A signal it did not handle ended it (e.g. SIGSEGV, SIGKILL).
        case signaled(Int32)

        /// Decodes a `waitpid` status (the `WIFEXITED`/`WTERMSIG` macros, which Swift cannot import).
        init(waitStatus raw: Int32) {
            if raw & 0x7f == 0 {
                self = .exited((raw >> 8) & 0xff)
            } else {
                self = .signaled(raw & 0x7f)
            }
        }

        /// Whether it exited or was killed by a signal (Foundation's names, so
        /// tests written for `Process.terminationReason` read the same).
        public var reason: TerminationReason {
            switch self {
            case .exited: return .exit
            case .signaled: return .uncaughtSignal
            }
        }

        /// The exit code, or the signal's number (Foundation's `terminationStatus`).
        public var code: Int32 {
            switch self {
            case .exited(let code), .signaled(let code): return code
            }
        }

        /// Whether it exited with code 0.
        public var isSuccess: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): return "exit \(code)"
            case .signaled(let signal): return "signal \(signal)"
            }
        }
    }

    /// The two ways a process ends, as Foundation's `Process.TerminationReason` names them.
    public enum TerminationReason: Hashable, Sendable {
        /// It exited.
        case exit
        /// A signal ended it.
        case uncaughtSignal
    }
}
