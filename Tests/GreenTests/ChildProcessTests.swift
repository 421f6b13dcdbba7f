import Foundation
import GreenTestSupport
import Testing

/// Behaviour that ends a process, checked in a real child process.
@Suite struct ChildProcessTests {
    @Test func stackOverflowNamesTheGreenletAndItsStackSize() throws {
        let r = try runChild(["overflow"])
        #expect(r.reason == .uncaughtSignal)
        #expect(r.stderr.contains("stack overflow in greenlet 'deep-diver'"), "stderr: \(r.stderr)")
        #expect(r.stderr.contains("64 KiB"))
        #expect(!r.stdout.contains("unreachable"))
    }

    #if DEBUG
    @Test func switchingInsideAnExclusiveAccessIsCaught() throws {
        let r = try runChild(["access"])
        #expect(r.reason == .uncaughtSignal)
        #expect(r.stderr.contains("greenlet 'modifier' switched away in the middle of a Swift exclusive access"), "stderr: \(r.stderr)")
    }
    #endif

    @Test func sigtermShutsDownCleanly() throws {
        let p = try ChildProcess(builtProduct("GreenTestChild").path, ["sigterm"], stdout: .pipe)
        // Wait for "ready", then signal.
        var buffer: [UInt8] = []
        while !String(decoding: buffer, as: UTF8.self).contains("ready") {
            let chunk = try p.read()
            if chunk.isEmpty { break }
            buffer += chunk
        }
        kill(p.processIdentifier, SIGTERM)
        buffer += try p.readToEnd()
        let status = try p.waitUntilExit()
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(status == .exited(0))
        #expect(text.contains("got SIGTERM, shutting down"))
        #expect(text.contains("clean exit"))
    }
}

/// The fuzz target's committed corpus, replayed through its checks (scripts/fuzz.sh grows it).
@Suite struct FuzzCorpusTests {
    @Test func theCorpusReplaysClean() throws {
        let corpus = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        #expect(!files.isEmpty)
        let r = try ChildProcess.run(builtProduct("GreenFuzz").path, files.map { corpus.appendingPathComponent($0).path },
                                     environment: ["SWIFT_BACKTRACE": "enable=no"], timeout: .seconds(600))
        #expect(r.status == .exited(0), "\(r.stderrText)")
        #expect(r.stdoutText == "replayed \(files.count) inputs\n")
    }
}
