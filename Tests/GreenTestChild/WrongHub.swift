import Glibc
import Green

/// The hub-local objects `wrong-hub` can misuse, each bound to hub 0 of a
/// runtime and then used from hub 1: the program must stop with a message
/// naming both hubs.
let wrongHubCases = ["socket", "reader", "writer", "group", "wait-any", "iwait", "waitlist", "timeout"]

/// Prints the two hubs (so the test knows their names), binds an object of
/// kind `what` to hub 0, and uses it from hub 1. Never returns normally.
func misuseAcrossHubs(_ what: String) throws {
    let runtime = try GreenRuntime(hubs: 2)
    print("HUBS \(runtime.hubs[0].description)|\(runtime.hubs[1].description)")
    fflush(stdout)
    let misuse: () throws -> Void
    switch what {
    case "socket":
        // A socket is bound to the hub of its first wait: accept waits for a
        // client that connects once the accept is parked.
        let s = try runtime.spawn(on: .hub(0)) { () throws -> Socket in
            let s = try Socket.listening(on: try .loopback(port: 0))
            let address = try s.localAddress()
            let client = spawn { () throws -> Socket in try Socket.connect(to: address, timeout: .seconds(10)) }
            _ = try s.accept(timeout: .seconds(10))
            _ = try client.get()
            return s
        }.get()
        misuse = { _ = try? s.accept(timeout: .milliseconds(1)) }
    case "reader", "writer":
        let (reader, writer) = try runtime.spawn(on: .hub(0)) { () throws -> (BufferedReader, BufferedWriter) in
            let listener = try Socket.listening(on: try .loopback(port: 0))
            let client = try Socket.connect(to: try listener.localAddress(), timeout: .seconds(10))
            let (server, _) = try listener.accept(timeout: .seconds(10))
            let writer = BufferedWriter(client)
            try writer.writeLine("one")
            try writer.writeLine("two")
            try writer.flush()
            let reader = BufferedReader(server)
            _ = try reader.readLine()
            return (reader, writer)
        }.get()
        misuse = what == "reader" ? { _ = try reader.readLine() } : { try writer.writeLine("three") }
    case "group":
        let group = runtime.withPlacement(.hub(0)) { Group() }
        misuse = { try group.spawn { 1 } }
    case "wait-any", "iwait":
        let event = runtime.withPlacement(.hub(0)) { Event() }
        misuse = what == "wait-any"
            ? { _ = try wait(any: [event], timeout: .milliseconds(1)) }
            : { _ = try iwait([event], timeout: .milliseconds(1)) }
    case "waitlist":
        let list = WaitList()
        try runtime.spawn(on: .hub(0)) { _ = try list.wait(timeout: .milliseconds(1)) }.join()
        misuse = { _ = try list.wait(timeout: .milliseconds(1)) }
    case "timeout":
        // Started by a greenlet of hub 0, cancelled from hub 1.
        let t = try runtime.spawn(on: .hub(0)) { try Timeout.start(.seconds(60)) }.get()
        misuse = { t.cancel() }
    default:
        print("unknown wrong-hub case \(what); one of \(wrongHubCases)")
        exit(64)
    }
    try runtime.spawn(on: .hub(1)) { try misuse() }.join()
    print("no stop")
    runtime.stop()
}
