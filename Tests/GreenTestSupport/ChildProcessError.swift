import Glibc

/// Why a `ChildProcess` call failed. Each case names the failure and what it
/// was about; `errno` values are kept as numbers and spelled by `description`.
public enum ChildProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The executable does not exist (the path given, or a directory on it).
    case executableNotFound(String)
    /// The executable exists but may not be run (not executable, or a directory
    /// on its path may not be searched).
    case permissionDenied(String)
    /// The working directory given does not exist or is not a directory.
    case workingDirectoryNotFound(String)
    /// `posix_spawn` failed for another reason (`errno`), e.g. not an executable format.
    case spawnFailed(String, errno: Int32)
    /// A pipe for the child's standard streams could not be made (`errno`, e.g. EMFILE).
    case pipeFailed(errno: Int32)
    /// Waiting for the child failed (`errno`).
    case waitFailed(errno: Int32)
    /// Sending a signal to the child failed (`errno`).
    case signalFailed(errno: Int32)
    /// Reading one of the child's outputs failed (`errno`).
    case readFailed(errno: Int32)
    /// Writing the child's standard input failed (`errno`, e.g. EPIPE: it closed its end).
    case writeFailed(errno: Int32)
    /// The stream was not started as `.pipe`, or its end here was closed already.
    case notAPipe(String)
    /// The child had not ended within the time given; it was killed (SIGKILL) and reaped.
    case timedOut(String, after: Duration)

    public var description: String {
        func text(_ e: Int32) -> String { "\(String(cString: strerror(e))) (errno \(e))" }
        switch self {
        case .executableNotFound(let path): return "no executable at \(path)"
        case .permissionDenied(let path): return "permission denied running \(path)"
        case .workingDirectoryNotFound(let path): return "no directory at \(path)"
        case .spawnFailed(let path, let e): return "cannot run \(path): \(text(e))"
        case .pipeFailed(let e): return "cannot make a pipe: \(text(e))"
        case .waitFailed(let e): return "cannot wait for the child: \(text(e))"
        case .signalFailed(let e): return "cannot signal the child: \(text(e))"
        case .readFailed(let e): return "cannot read the child's output: \(text(e))"
        case .writeFailed(let e): return "cannot write the child's input: \(text(e))"
        case .notAPipe(let stream): return "the child's \(stream) is not a pipe open here"
        case .timedOut(let path, let limit): return "\(path) did not end within \(limit); killed"
        }
    }
}
