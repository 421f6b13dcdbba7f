// The fuzz target: one input goes through a BufferedReader (over a real socket
// pair) and through the chat room's name and line handling (GreenChat.ChatText),
// checking what must hold whatever the bytes.
//
// Built two ways:
// - scripts/fuzz.sh: with -DFUZZING and -sanitize=fuzzer,address, libFuzzer
//   calls `LLVMFuzzerTestOneInput` and supplies `main`;
// - a normal build: `GreenFuzz FILE...` replays inputs (the committed corpus,
//   a crash libFuzzer found) through the same checks; the tests run it on the corpus.
import Glibc
import Green
import GreenChat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    checkOneInput(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The first byte picks the line limit and the reader's buffer size; the rest is the stream.
func checkOneInput(_ bytes: [UInt8]) {
    guard let first = bytes.first else { return }
    let maxLength = Int(first & 0x7F) * 8 + 1        // 1 ... 1017
    let bufferSize = first & 0x80 == 0 ? 64 : 4096   // grows past 64 for long lines
    let stream = Array(bytes.dropFirst())
    for line in readLines(stream, maxLength: maxLength, bufferSize: bufferSize) {
        check(line: line.bytes, maxLength: maxLength, isLast: line.isLast)
    }
    check(line: stream, maxLength: Int.max, isLast: true)
}

/// The lines a BufferedReader finds in `stream` (written whole, then end of stream),
/// skipping the over-long ones as callers do.
func readLines(_ stream: [UInt8], maxLength: Int, bufferSize: Int) -> [(bytes: [UInt8], isLast: Bool)] {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0 else { fatalError("socketpair: \(errno)") }
    var size = Int32(stream.count + 4096)
    _ = setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    var written = 0
    while written < stream.count {
        let n = stream[written...].withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        guard n > 0 else { fatalError("write: \(errno)") }  // the kernel buffers it all: the reader never waits
        written += n
    }
    shutdown(fds[1], Int32(SHUT_WR))
    defer { close(fds[1]) }
    let reader = BufferedReader(Socket(adopting: fds[0], family: .ipv4), bufferSize: bufferSize)
    var lines: [(bytes: [UInt8], isLast: Bool)] = []
    var total = 0
    while true {
        do {
            guard let line = try reader.readLineBytes(maxLength: maxLength) else { break }
            total += line.count
            lines.append((line, false))
        } catch ReaderError.lineTooLong {
            continue
        } catch {
            fatalError("readLineBytes threw \(error)")
        }
    }
    precondition(total <= stream.count, "the reader returned more bytes than were sent")
    if let last = lines.indices.last { lines[last].isLast = true }
    return lines
}

/// What every line, name and shown text must satisfy.
func check(line: [UInt8], maxLength: Int, isLast: Bool) {
    if maxLength != Int.max {
        precondition(line.count <= maxLength + 1, "a line over its limit came through")
        precondition(isLast || line.last == 10, "a line that is not the last lacks its newline")
        precondition(!line.dropLast().contains(10), "a line holds a newline before its end")
    }
    let shown = ChatText.displayable(line)
    checkShown(shown)
    precondition(ChatText.displayable(shown) == shown, "cleaning a clean text changed it")
    switch ChatText.name(from: line) {
    case .accepted(let name):
        precondition(!name.isEmpty && !name.hasPrefix("#") && !name.contains(">"), "a spoofing name was accepted: \(name)")
        checkShown(Array(name.utf8))
        precondition(!name.contains("\t"), "a name with a tab was accepted")
    case .empty, .refused:
        break
    }
}

/// Valid UTF-8 with no control character but tab, no bidirectional control, no separator.
func checkShown(_ text: [UInt8]) {
    guard let s = String(validating: text, as: UTF8.self) else { preconditionFailure("shown text is not UTF-8") }
    for u in s.unicodeScalars {
        let v = u.value
        let bad = (v < 0x20 && v != 9) || (0x7F..<0xA0).contains(v) || (0x202A...0x202E).contains(v)
            || (0x2066...0x2069).contains(v) || v == 0x2028 || v == 0x2029
        precondition(!bad, "shown text holds U+\(String(v, radix: 16))")
    }
}

#if FUZZING
/// SwiftPM links an executable target's entry point as `GreenFuzz_main` and
/// points `main` at it; libFuzzer's driver takes over from there.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

@_cdecl("GreenFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzerTestOneInput(data, size) }
}
#else
/// `GreenFuzz FILE...`: replays each file as one input; exits 0 when all pass.
@main
struct Replay {
    static func main() {
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            guard let file = fopen(path, "rb") else {
                fputs("GreenFuzz: cannot open \(path)\n", stderr)
                exit(66)
            }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = fread(&chunk, 1, chunk.count, file)
                if n == 0 { break }
                bytes.append(contentsOf: chunk[..<n])
            }
            fclose(file)
            checkOneInput(bytes)
            count += 1
        }
        print("replayed \(count) inputs")
    }
}
#endif
