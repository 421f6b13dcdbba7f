import Glibc
import Green
import Testing

@Suite struct IOReaderWriterTests {
    @Test func linesSplitAcrossReadsComeWhole() throws {
        let lines = try green { () -> [String] in
            let (a, b) = try loopbackPair()
            let writer = spawn {
                for piece in ["hel", "lo\nwor", "ld\r\n", "\n", "no newline at end"] {
                    try b.sendAll(piece)
                    try sleep(.milliseconds(1))
                }
                b.close()
            }
            let reader = BufferedReader(a, bufferSize: 64)
            let got = Array(reader.lines)
            #expect(reader.error == nil)
            try writer.join()
            a.close()
            return got
        }
        #expect(lines == ["hello", "world", "", "no newline at end"])
    }

    @Test func byteLinesKeepTheirNewlines() throws {
        let lines = try green { () -> [[UInt8]] in
            let (a, b) = try loopbackPair()
            try b.sendAll("a\r\nb\n")
            b.close()
            let got = Array(BufferedReader(a).byteLines)
            a.close()
            return got
        }
        #expect(lines == [Array("a\r\n".utf8), Array("b\n".utf8)])
    }

    @Test func anOverlongLineIsRefusedAndTheStreamGoesOn() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let reader = BufferedReader(a, bufferSize: 64)
            let long = String(repeating: "x", count: 1000)
            let exact = String(repeating: "y", count: 100)
            try b.sendAll("short\n\(long)\n\(exact)\nafter\n")
            b.close()
            #expect(try reader.readLine(maxLength: 100) == "short")
            #expect(throws: ReaderError.lineTooLong(limit: 100)) { _ = try reader.readLine(maxLength: 100) }
            #expect(try reader.readLine(maxLength: 100) == exact)
            #expect(try reader.readLine(maxLength: 100) == "after")
            #expect(try reader.readLine(maxLength: 100) == nil)
            a.close()
        }
    }

    @Test func invalidUTF8BecomesReplacementCharacters() throws {
        let line = try green { () -> String? in
            let (a, b) = try loopbackPair()
            try b.sendAll([0x61, 0xFF, 0xFE, 0x62, 0x0A])
            let l = try BufferedReader(a).readLine(timeout: .seconds(10))
            a.close(); b.close()
            return l
        }
        #expect(line == "a\u{FFFD}\u{FFFD}b")
    }

    @Test func readExactlyAndTimeoutKeepsBufferedData() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let reader = BufferedReader(a)
            try b.sendAll("12345partial")
            #expect(try reader.read(exactly: 5, timeout: .seconds(10)).text == "12345")
            #expect(throws: SocketError.timedOut) { _ = try reader.readLine(timeout: .milliseconds(20)) }
            try b.sendAll(" line\n")
            #expect(try reader.readLine(timeout: .seconds(10)) == "partial line")
            a.close(); b.close()
        }
    }

    @Test func linesLoopDoesNotSwallowAKill() throws {
        let after = try green { () -> String in
            let (a, b) = try loopbackPair()
            let log = Log()
            let readOne = Event()
            let g = spawn {
                for line in BufferedReader(a).lines { log.add(line); readOne.set() }
                log.add("loop ended")
                try sleep(.seconds(30))  // the re-armed kill is thrown here
                log.add("not reached")
            }
            try b.sendAll("one\n")
            try readOne.wait()  // the loop is parked on its next read
            try g.kill()
            a.close(); b.close()
            return log.lines.joined(separator: ",")
        }
        #expect(after == "one,loop ended")
    }

    @Test func writerBuffersUntilFlush() throws {
        try green { () throws -> Void in
            let (a, b) = try loopbackPair()
            let w = BufferedWriter(b, capacity: 1024)
            try w.write("hello ")
            try w.writeLine("world")
            #expect(w.bufferedCount == 12)
            #expect(throws: SocketError.timedOut) { _ = try a.recv(timeout: .milliseconds(10)) }
            try w.flush()
            #expect(w.bufferedCount == 0)
            #expect(try BufferedReader(a).readLine(timeout: .seconds(10)) == "hello world")
            // Past capacity it flushes by itself.
            try w.write([UInt8](repeating: 65, count: 2000))
            #expect(w.bufferedCount == 0)
            a.close(); b.close()
        }
    }
}
