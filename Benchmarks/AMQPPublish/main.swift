// One-way publish throughput with publisher confirms: pika_publish.py's
// twin. `--window 1` waits for each confirm before the next publish (what
// pika's BlockingChannel does); a larger window keeps that many unconfirmed.
// Last line: publishes=N seconds=S publishes_per_s=R
import Foundation
import Green
import GreenAMQP

var url = "amqp://127.0.0.1"
var count = 5000
var size = 100
var window = 1
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--url": url = args.popFirst() ?? url
    case "--count": count = Int(args.popFirst() ?? "") ?? count
    case "--size": size = Int(args.popFirst() ?? "") ?? size
    case "--window": window = max(1, Int(args.popFirst() ?? "") ?? window)
    default: print("usage: green-amqp-publish [--url U] [--count N] [--size B] [--window W]"); exit(2)
    }
}
let connection = try AMQPConnection.connect(url: url)
let channel = try connection.openChannel()
let queue = try channel.queueDeclare("", exclusive: true).name
try channel.confirmSelect()
let body = [UInt8](repeating: UInt8(ascii: "x"), count: size)
var inFlight: [AMQPConfirmation] = []
inFlight.reserveCapacity(window)
let start = ContinuousClock.now
for _ in 0..<count {
    inFlight.append(try channel.publish(body, routingKey: queue)!)
    if inFlight.count >= window {
        try inFlight.removeFirst().wait()
    }
}
for c in inFlight { try c.wait() }
let e = (ContinuousClock.now - start).components
let seconds = Double(e.seconds) + Double(e.attoseconds) * 1e-18
try connection.close()
print(String(format: "publishes=%d seconds=%.3f publishes_per_s=%.0f", count, seconds, Double(count) / seconds))
