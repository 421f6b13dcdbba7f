import Glibc
import Synchronization

/// A child process started with `posix_spawn`, for tests and test helpers:
/// what Foundation's `Process` did for them, without it (Foundation's
/// `Process.run()` on Swift 6.3.1 over-reads `d_name` while it scans
/// `/proc/self/fd` and crashes the test process when thousands of
/// descriptors are open; swift-corelibs-foundation PR #5472).
///
/// What the child gets:
/// - `argv` is the executable's path, then `arguments`; no `PATH` search
///   (run `/usr/bin/env NAME ...` for that).
/// - The environment is this process's (read when it starts) with
///   `environment` laid over it, or `environment` alone.
/// - Standard input, output and error are each inherited, `/dev/null`, or a
///   pipe whose other end stays here (`IO`).
/// - No other descriptor of this process: the child closes every descriptor
///   from 3 up before `exec` (`posix_spawn_file_actions_addclosefrom_np`,
///   glibc 2.34+), and the pipes are made close-on-exec, so a child spawned
///   at the same time by another thread does not inherit them either.
/// - Default dispositions for every signal and an empty signal mask (this
///   process may ignore SIGPIPE or block signals; the child must not inherit that).
///
/// Threads: `processIdentifier`, `kill`, `terminate`, `isRunning` and
/// `waitUntilExit` may be called from any thread, also at once; a signal is
/// never sent after the child was reaped (its pid could be reused). Each pipe
/// is read (or written) by one thread at a time; `communicate` uses all of
/// them. Nothing here switches: every call that waits blocks the calling OS
/// thread, so from green code call it through `ThreadPool` unless blocking
/// the hub is meant.
///
/// Dropping the last reference closes the pipe ends held here; it neither
/// kills nor reaps the child.
public final class ChildProcess: @unchecked Sendable {
    /// What one of the child's standard streams is connected to.
    public enum IO: Sendable {
        /// This process's own stream.
        case inherit
        /// `/dev/null`.
        case null
        /// A pipe whose other end is kept here (`write`/`closeInput`, `read`/`readLine`/`readToEnd`).
        case pipe
    }

    /// One of the child's two outputs.
    public enum Output: Sendable {
        /// Standard output.
        case stdout
        /// Standard error.
        case stderr
    }

    /// The path the child was started from.
    public let executable: String
    /// The child's process id.
    public let processIdentifier: pid_t

    /// Our end of each pipe (`nil` where the stream is not a pipe).
    let input: PipeEnd?
    let outputs: (stdout: PipeEnd?, stderr: PipeEnd?)
    /// The status once reaped; taken under the lock by every call that reaps or signals.
    let reaped = Mutex<Status?>(nil)

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: variables set for the child, over this process's
    ///     environment when `inheritEnvironment` (the default), alone otherwise.
    ///   - workingDirectory: the child's current directory (default: this process's).
    ///   - stdin, stdout, stderr: what each standard stream is (default: inherited).
    /// - Throws: `ChildProcessError.executableNotFound`, `.permissionDenied`,
    ///   `.workingDirectoryNotFound`, `.spawnFailed`, `.pipeFailed`.
    /// Never switches; does not wait for the child. Any thread.
    public init(_ executable: String, _ arguments: [String] = [],
                environment: [String: String] = [:], inheritEnvironment: Bool = true,
                workingDirectory: String? = nil,
                stdin: IO = .inherit, stdout: IO = .inherit, stderr: IO = .inherit) throws {
        self.executable = executable
        if let workingDirectory {
            var info = stat()
            guard stat(workingDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw ChildProcessError.workingDirectoryNotFound(workingDirectory)
            }
        }
        // Pipes: [read end, write end], both close-on-exec. The child's end is
        // dup2'ed onto 0, 1 or 2 (which clears close-on-exec there).
        var made: [Int32] = []
        func pipe(_ io: IO) throws -> (read: Int32, write: Int32)? {
            guard case .pipe = io else { return nil }
            var fds: [Int32] = [-1, -1]
            guard SpawnExtensions.pipe2(&fds, O_CLOEXEC) == 0 else {
                let e = errno
                for fd in made { close(fd) }
                throw ChildProcessError.pipeFailed(errno: e)
            }
            made += fds
            return (fds[0], fds[1])
        }
        let inPipe = try pipe(stdin), outPipe = try pipe(stdout), errPipe = try pipe(stderr)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, io, childEnd) in [(Int32(0), stdin, inPipe?.read), (1, stdout, outPipe?.write), (2, stderr, errPipe?.write)] {
            switch io {
            case .inherit: break
            case .null: posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .pipe: posix_spawn_file_actions_adddup2(&actions, childEnd!, target)
            }
        }
        if let workingDirectory { SpawnExtensions.addChdir(&actions, workingDirectory) }
        SpawnExtensions.addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = CStrings([executable] + arguments)
        let envp = CStrings(Self.environment(environment, inherit: inheritEnvironment))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv.pointers, envp.pointers)
        // The child's ends are the child's now (or nobody's, on failure).
        for fd in [inPipe?.read, outPipe?.write, errPipe?.write] { if let fd { close(fd) } }
        guard result == 0 else {
            for fd in [inPipe?.write, outPipe?.read, errPipe?.read] { if let fd { close(fd) } }
            switch result {
            case ENOENT, ENOTDIR: throw ChildProcessError.executableNotFound(executable)
            case EACCES: throw ChildProcessError.permissionDenied(executable)
            default: throw ChildProcessError.spawnFailed(executable, errno: result)
            }
        }
        processIdentifier = pid
        input = inPipe.map { PipeEnd($0.write, name: "stdin") }
        outputs = (outPipe.map { PipeEnd($0.read, name: "stdout") }, errPipe.map { PipeEnd($0.read, name: "stderr") })
    }

    /// Runs `executable` to its end and returns how it ended with everything it
    /// wrote to standard output and standard error (both drained at once, so
    /// neither pipe can fill up and stall it). `input` is written to its
    /// standard input, which is then closed (`/dev/null` when `input` is nil).
    /// - Parameter timeout: a guard: past it the child is killed (SIGKILL) and
    ///   `ChildProcessError.timedOut` thrown. Nil waits as long as it runs.
    /// - Throws: what `init` throws; `ChildProcessError.timedOut`, `.readFailed`, `.waitFailed`.
    /// Blocks the calling thread until the child ends; never switches. Any thread.
    public static func run(_ executable: String, _ arguments: [String] = [],
                           environment: [String: String] = [:], inheritEnvironment: Bool = true,
                           workingDirectory: String? = nil, input: [UInt8]? = nil,
                           timeout: Duration? = nil) throws -> Completion {
        let child = try ChildProcess(executable, arguments, environment: environment,
                                     inheritEnvironment: inheritEnvironment, workingDirectory: workingDirectory,
                                     stdin: input == nil ? .null : .pipe, stdout: .pipe, stderr: .pipe)
        return try child.communicate(input: input ?? [], timeout: timeout)
    }

    deinit {
        input?.close()
        outputs.stdout?.close()
        outputs.stderr?.close()
    }

    /// This process's environment (`environ`, read now) with `overrides` laid
    /// over it, or `overrides` alone; as `NAME=value` strings.
    static func environment(_ overrides: [String: String], inherit: Bool) -> [String] {
        var entries: [String] = []
        if inherit {
            var p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
            while let entry = p?.pointee {
                let text = String(cString: entry)
                let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
                if overrides[name] == nil { entries.append(text) }
                p = p! + 1
            }
        }
        for (name, value) in overrides.sorted(by: { $0.key < $1.key }) { entries.append("\(name)=\(value)") }
        return entries
    }
}

/// NUL-terminated copies of strings and a NULL-terminated array of them
/// (`argv`, `envp`), freed with this object.
final class CStrings {
    let pointers: [UnsafeMutablePointer<CChar>?]
    init(_ strings: [String]) { pointers = strings.map { strdup($0) } + [nil] }
    deinit { for p in pointers { free(p) } }
}
