// The floor under RemotePingPong: the same round trip (one publish each way
// through the default exchange to the other side's queue, consumed with
// auto-ack) with GreenAMQP's lowest layer only: one AMQPConnection and
// channel per process, a fixed 16-byte body echoed unchanged; no nodes, no
// actors, no Codable. What RemotePingPong loses against it is ours; what
// this loses against the broker's own time is the broker's and the kernel's.
//
//   green-amqp-roundtrip echo --url U --name N
//   green-amqp-roundtrip ping --url U --echo N --count C --inflight I
// ping's last line: roundtrips=N seconds=S roundtrips_per_s=R
import Foundation
import Green
import GreenAMQP

var url = "amqp://127.0.0.1"
var name = "echo"
var count = 5000
var inflight = 1
var args = CommandLine.arguments.dropFirst()
let role = args.popFirst() ?? ""
while let a = args.popFirst() {
    switch a {
    case "--url": url = args.popFirst() ?? url
    case "--name", "--echo": name = args.popFirst() ?? name
    case "--count": count = Int(args.popFirst() ?? "") ?? count
    case "--inflight": inflight = max(1, Int(args.popFirst() ?? "") ?? inflight)
    default: break
    }
}
guard role == "echo" || role == "ping" else {
    print("usage: green-amqp-roundtrip echo|ping [--url U] [--name N | --echo N] [--count C] [--inflight I]")
    exit(2)
}
let connection = try AMQPConnection.connect(url: url)
let channel = try connection.openChannel()
if role == "echo" {
    let queue = "raw.node.\(name)"
    _ = try channel.queueDeclare(queue, exclusive: true, autoDelete: true)
    let consumer = try channel.consume(queue: queue, noAck: true)
    print("raw echo '\(name)' ready")
    fflush(stdout)
    while let d = try consumer.next() {
        try channel.publish(d.body, routingKey: d.properties.replyTo ?? "")
    }
} else {
    let me = "raw.node.ping-\(getpid())"
    _ = try channel.queueDeclare(me, exclusive: true, autoDelete: true)
    let consumer = try channel.consume(queue: me, noAck: true)
    let target = "raw.node.\(name)"
    let body = [UInt8](repeating: UInt8(ascii: "b"), count: 16)
    var p = AMQPProperties()
    p.replyTo = me
    var sent = 0
    let start = ContinuousClock.now
    while sent < min(inflight, count) {
        try channel.publish(body, routingKey: target, properties: p)
        sent += 1
    }
    var received = 0
    while received < count, try consumer.next() != nil {
        received += 1
        if sent < count {
            try channel.publish(body, routingKey: target, properties: p)
            sent += 1
        }
    }
    let e = (ContinuousClock.now - start).components
    let seconds = Double(e.seconds) + Double(e.attoseconds) * 1e-18
    try connection.close()
    print(String(format: "roundtrips=%d seconds=%.3f roundtrips_per_s=%.0f", count, seconds, Double(count) / seconds))
}
