import Foundation
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
        let p = Process()
        p.executableURL = builtProduct("GreenTestChild")
        p.arguments = ["sigterm"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        // Wait for "ready", then signal.
        var buffer = Data()
        while !String(decoding: buffer, as: UTF8.self).contains("ready") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        kill(p.processIdentifier, SIGTERM)
        buffer.append(out.fileHandleForReading.readDataToEndOfFile())
        p.waitUntilExit()
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
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
        let p = Process()
        p.executableURL = builtProduct("GreenFuzz")
        p.arguments = files.map { corpus.appendingPathComponent($0).path }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0, "\(String(decoding: e, as: UTF8.self))")
        #expect(String(decoding: o, as: UTF8.self) == "replayed \(files.count) inputs\n")
    }
}
