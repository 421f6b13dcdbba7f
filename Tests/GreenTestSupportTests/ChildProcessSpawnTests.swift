import Glibc
import GreenTestSupport
import Testing

/// `ChildProcess` against real programs (/bin/sh, cat, tee, env, sleep).
/// Every run has a guard: `timeout:` kills a child that hangs.
@Suite struct ChildProcessSpawnTests {
    static let guardTime = Duration.seconds(60)

    @Test func anExitCodeIsReported() throws {
        let r = try ChildProcess.run("/bin/sh", ["-c", "echo out; echo err >&2; exit 7"], timeout: Self.guardTime)
        #expect(r.status == .exited(7))
        #expect(r.status.reason == .exit && r.status.code == 7 && !r.status.isSuccess)
        #expect(r.stdoutText == "out\n")
        #expect(r.stderrText == "err\n")
        #expect(try ChildProcess.run("/bin/true", timeout: Self.guardTime).status.isSuccess)
    }

    @Test func aSignalThatEndsTheChildIsReported() throws {
        let r = try ChildProcess.run("/bin/sh", ["-c", "kill -SEGV $$"], timeout: Self.guardTime)
        #expect(r.status == .signaled(SIGSEGV))
        #expect(r.status.reason == .uncaughtSignal && r.status.code == SIGSEGV)
    }

    @Test func killAndTerminateEndARunningChild() throws {
        let sleeper = try ChildProcess("/bin/sleep", ["600"])
        #expect(sleeper.processIdentifier > 0)
        #expect(sleeper.isRunning)
        try sleeper.kill()
        #expect(try sleeper.waitUntilExit() == .signaled(SIGKILL))
        #expect(!sleeper.isRunning)
        try sleeper.terminate()  // reaped: nothing is sent
        #expect(try sleeper.waitUntilExit() == .signaled(SIGKILL))

        let other = try ChildProcess("/bin/sleep", ["600"])
        try other.terminate()
        #expect(try other.waitUntilExit() == .signaled(SIGTERM))
    }

    /// Signals this thread blocks (and SIGPIPE, which test runners may ignore)
    /// are not blocked in the child.
    @Test func theChildStartsWithAnEmptySignalMask() throws {
        var set = sigset_t(), old = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        let sleeper = try ChildProcess("/bin/sleep", ["600"])
        try sleeper.terminate()
        #expect(try sleeper.waitUntilExit() == .signaled(SIGTERM))
    }

    /// Megabytes on stdout, then on stderr, then stdout again: reading one pipe
    /// to its end before the other would stall the child forever.
    @Test func largeOutputsOnBothPipesAreDrained() throws {
        let script = """
            head -c 3000000 /dev/zero | tr '\\0' o
            head -c 3000000 /dev/zero | tr '\\0' e >&2
            head -c 1000 /dev/zero | tr '\\0' O
            """
        let r = try ChildProcess.run("/bin/sh", ["-c", script], timeout: Self.guardTime)
        #expect(r.status == .exited(0))
        #expect(r.stdout.count == 3_001_000)
        #expect(r.stdout.prefix(3_000_000).allSatisfy { $0 == UInt8(ascii: "o") })
        #expect(r.stdout.suffix(1000).allSatisfy { $0 == UInt8(ascii: "O") })
        #expect(r.stderr.count == 3_000_000 && r.stderr.allSatisfy { $0 == UInt8(ascii: "e") })
    }

    /// Megabytes in while the same come out on both outputs (tee).
    @Test func largeInputIsWrittenWhileBothOutputsAreRead() throws {
        let input = (0..<2_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let r = try ChildProcess.run("/usr/bin/tee", ["/dev/stderr"], input: input, timeout: Self.guardTime)
        #expect(r.status == .exited(0))
        #expect(r.stdout == input)
        #expect(r.stderr == input)
    }

    /// A child that reads none of its input: the write fails quietly (EPIPE), no SIGPIPE here.
    @Test func inputTheChildDoesNotReadIsDropped() throws {
        let r = try ChildProcess.run("/bin/true", input: [UInt8](repeating: 1, count: 1_000_000), timeout: Self.guardTime)
        #expect(r.status == .exited(0))
    }

    @Test func theEnvironmentIsInheritedWithOverrides() throws {
        let r = try ChildProcess.run("/usr/bin/env", environment: ["GREEN_CHILD_TEST": "a=b c", "HOME": "/nowhere"],
                                     timeout: Self.guardTime)
        let lines = Set(r.stdoutText.split(separator: "\n").map(String.init))
        #expect(lines.contains("GREEN_CHILD_TEST=a=b c"))
        #expect(lines.contains("HOME=/nowhere"))
        #expect(lines.filter { $0.hasPrefix("HOME=") }.count == 1)
        if let path = getenv("PATH") { #expect(lines.contains("PATH=\(String(cString: path))")) }

        let alone = try ChildProcess.run("/usr/bin/env", environment: ["ONLY": "1"], inheritEnvironment: false,
                                         timeout: Self.guardTime)
        #expect(alone.stdoutText == "ONLY=1\n")
    }

    @Test func theWorkingDirectoryIsSet() throws {
        let r = try ChildProcess.run("/bin/pwd", workingDirectory: "/usr/lib", timeout: Self.guardTime)
        #expect(r.stdoutText == "/usr/lib\n")
        #expect(throws: ChildProcessError.workingDirectoryNotFound("/nonexistent/green")) {
            try ChildProcess.run("/bin/pwd", workingDirectory: "/nonexistent/green")
        }
    }

    @Test func aMissingExecutableIsATypedError() throws {
        #expect(throws: ChildProcessError.executableNotFound("/nonexistent/green-no-such-program")) {
            try ChildProcess.run("/nonexistent/green-no-such-program", ["x"])
        }
        #expect(throws: ChildProcessError.permissionDenied("/etc/passwd")) {
            try ChildProcess("/etc/passwd")
        }
    }

    @Test func linesAreReadAndInputClosed() throws {
        let cat = try ChildProcess("/bin/cat", stdin: .pipe, stdout: .pipe, stderr: .null)
        try cat.write("one\ntwo\nthr")
        #expect(try cat.readLine() == "one")
        try cat.write("ee\n")
        #expect(try cat.readLine() == "two")
        #expect(try cat.readLine() == "three")
        try cat.write("last, unfinished")
        cat.closeInput()
        #expect(try cat.readLine() == "last, unfinished")
        #expect(try cat.readLine() == nil)
        #expect(try cat.waitUntilExit() == .exited(0))
        #expect(throws: ChildProcessError.notAPipe("stderr")) { try cat.read(from: .stderr) }
    }

    @Test func aChildPastItsGuardIsKilled() throws {
        #expect(throws: ChildProcessError.timedOut("/bin/sleep", after: .milliseconds(200))) {
            try ChildProcess.run("/bin/sleep", ["600"], timeout: .milliseconds(200))
        }
    }

    /// 2,000 descriptors open here (not close-on-exec): the child has only its three.
    @Test func descriptorsOfTheParentDoNotReachTheChild() throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 8192, limit.rlim_max > limit.rlim_cur {
            limit.rlim_cur = min(8192, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        var opened: [Int32] = []
        defer { for fd in opened { close(fd) } }
        for _ in 0..<2000 {
            let fd = open("/dev/null", O_RDONLY)
            try #require(fd >= 0, "open: errno \(errno)")
            opened.append(fd)
        }
        let sleeper = try ChildProcess("/bin/sleep", ["600"], stdin: .null, stdout: .pipe, stderr: .pipe)
        defer { try? sleeper.kill(); _ = try? sleeper.waitUntilExit() }
        // posix_spawn returns once the child has exec'ed: its table is final.
        let fds = try ChildProcess.run("/bin/ls", ["/proc/\(sleeper.processIdentifier)/fd"], timeout: Self.guardTime)
        #expect(fds.status == .exited(0), "\(fds.stderrText)")
        let seen = fds.stdoutText.split(separator: "\n").map(String.init).sorted()
        let onlyItsOwn = seen == ["0", "1", "2"]
        #expect(onlyItsOwn, "the child has \(seen.count) descriptors, among them \(seen.prefix(8))")
    }
}
