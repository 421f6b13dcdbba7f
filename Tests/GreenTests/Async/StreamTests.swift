import Green
import Testing

@Suite struct StreamTests {
    @Test func asyncCodeReadsAQueueUntilItIsClosed() async throws {
        let items = try await Green.run {
            let q = Queue<Int>(maxSize: 2)
            spawn {
                for i in 1...5 { try q.put(i) }
                q.close()
            }
            return q.asyncValues
        }
        var got: [Int] = []
        for try await i in items { got.append(i) }
        #expect(got == [1, 2, 3, 4, 5])
    }

    @Test func asyncCodeReadsAChannel() async throws {
        let items = try await Green.run {
            let ch = Channel<String>()
            spawn {
                for word in ["ping", "pong"] { try ch.put(word) }
                ch.close()
            }
            return ch.asyncValues
        }
        var got: [String] = []
        for try await word in items { got.append(word) }
        #expect(got == ["ping", "pong"])
    }

    @Test func aCancelledReaderTakesNothing() async throws {
        let (items, channel) = try await Green.run {
            let ch = Channel<Int>()
            return (ch.asyncValues, UncheckedChannel(ch))
        }
        let waiting = Task {
            var it = items.makeAsyncIterator()
            return try await it.next()
        }
        // Once its greenlet waits in get, cancel the Task.
        try await Green.run { while channel.ch.waitingGetters == 0 { try yieldGreenlet() } }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        let refused = try await Green.run { () -> Bool in
            do { try channel.ch.putNowait(7); return false } catch QueueError.full { return true }
        }
        #expect(refused)  // no getter is left waiting: the killed one took nothing
    }

    @Test func aGreenletIteratesAnAsyncSequenceWithAPlainForLoop() async throws {
        let got = try await Green.run { () -> [Int] in
            let (stream, c) = AsyncStream.makeStream(of: Int.self)
            spawn {
                for i in 1...3 { c.yield(i) }
                c.finish()
            }
            var got: [Int] = []
            for i in stream.greenValues { got.append(i) }
            return got
        }
        #expect(got == [1, 2, 3])
    }

    @Test func anErrorOfTheAsyncSequenceArrivesTyped() async throws {
        let (got, caught) = try await Green.run { () -> ([Int], AsyncBoom?) in
            let (stream, c) = AsyncThrowingStream.makeStream(of: Int.self)
            c.yield(1)
            c.finish(throwing: AsyncBoom(code: 3))
            let values = stream.greenValues
            var got: [Int] = []
            do {
                while let i = try values.nextElement() { got.append(i) }
                return (got, nil)
            } catch let e as AsyncBoom {
                return (got, e)
            }
        }
        #expect(got == [1])
        #expect(caught == AsyncBoom(code: 3))
    }

    @Test func aForLoopEndedByAnErrorKeepsItAndThrowsItAtTheNextBlockingCall() async throws {
        let (failure, thrown) = try await Green.run { () -> (AsyncBoom?, AsyncBoom?) in
            let (stream, c) = AsyncThrowingStream.makeStream(of: Int.self)
            c.finish(throwing: AsyncBoom(code: 4))
            let values = stream.greenValues
            for _ in values {}
            do {
                try yieldGreenlet()
                return (values.failure as? AsyncBoom, nil)
            } catch let e as AsyncBoom {
                return (values.failure as? AsyncBoom, e)
            }
        }
        #expect(failure == AsyncBoom(code: 4))
        #expect(thrown == AsyncBoom(code: 4))
    }
}

/// A channel handed to async code only to be passed back into `Green.run`.
struct UncheckedChannel: @unchecked Sendable {
    let ch: Channel<Int>
    init(_ ch: Channel<Int>) { self.ch = ch }
}
