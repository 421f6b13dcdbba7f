import Green
import GreenActors
import Testing

/// Counts down through a reply stream; answers a single `ask` too.
final class Countdown: GreenActor<Countdown.Message> {
    enum Message {
        case countdown(from: Int, to: ReplyStream<Int>)
        case failAfter(Int, to: ReplyStream<Int>)
        case abandon(ReplyStream<Int>)
        case total(Reply<Int>)
    }
    var sent = 0
    override func receive(_ m: Message) throws {
        switch m {
        case .countdown(let n, let replies):
            for i in stride(from: n, through: 1, by: -1) {
                replies(i)
                sent += 1
                try yieldGreenlet()  // the replies go out while the actor works
            }
            replies.finish()
        case .failAfter(let n, let replies):
            replies(n)
            replies.fail(Boom())
        case .abandon:
            throw Boom()  // ends the actor with the stream unfinished
        case .total(let reply):
            reply(sent)
        }
    }
}

/// An actor of the process-wide hub, handed to async code only to be passed back into `Green.run`.
struct Handle<A: AnyObject>: @unchecked Sendable {
    let actor: A
}

@Suite struct AsyncActorTests {
    @Test func asyncCodeReadsAnActorsRepliesAsAnAsyncSequence() async throws {
        let countdown = try await Green.run { () -> Handle<Countdown> in
            let c = Countdown()
            try c.start()
            return Handle(actor: c)
        }
        let numbers = try await Green.run { try countdown.actor.replies { .countdown(from: 3, to: $0) } }
        var got: [Int] = []
        for try await n in numbers { got.append(n) }
        #expect(got == [3, 2, 1])
        // A single reply from async code: ask inside Green.run.
        let total = try await Green.run { try countdown.actor.ask { .total($0) } }
        #expect(total == 3)
        try await Green.run { countdown.actor.stop(); try countdown.actor.join() }
    }

    @Test func theActorsErrorArrivesTyped() async throws {
        let replies = try await Green.run { () -> AsyncThrowingStream<Int, any Error> in
            let c = Countdown()
            try c.start()
            defer { c.stop() }
            return try c.replies { .failAfter(9, to: $0) }
        }
        var got: [Int] = []
        await #expect(throws: Boom()) {
            for try await n in replies { got.append(n) }
        }
        #expect(got == [9])
    }

    @Test func anActorThatEndsWithoutFinishingFailsTheStream() async throws {
        let (name, replies) = try await Green.run { () -> (String, AsyncThrowingStream<Int, any Error>) in
            let c = Countdown(name: "quitter")
            try c.start()
            return (c.name, try c.replies { .abandon($0) })
        }
        await #expect(throws: MailboxError.actorDead(actor: name)) {
            for try await _ in replies {}
        }
    }
}
