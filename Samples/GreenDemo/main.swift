// A small tour of the greenlet core, in the spirit of the seeds' first examples.
import Green

func task(_ pid: Int) throws {
    try sleep(.milliseconds(Int.random(in: 0...2) * 10))
    print("Task \(pid) done")
}

print("Synchronous:")
for i in 1...5 { try task(i) }

print("Asynchronous:")
let start = ContinuousClock.now
try joinAll((1...5).map { i in spawn { try task(i) } })
print("5 tasks took \(ContinuousClock.now - start) together")

let winner = spawn { "You win!" }
let loser = spawn { () throws -> String in throw DemoError.failed }
try joinAll([winner, loser])
print("winner: \(winner.value ?? "-") successful=\(winner.isSuccessful)")
print("loser: error=\(loser.error.map { "\($0)" } ?? "-") successful=\(loser.isSuccessful)")

enum DemoError: Error { case failed }
