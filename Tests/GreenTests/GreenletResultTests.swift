import Green
import Testing

/// A greenlet's result is stored without `Optional<Value>` (inline when it
/// fits in three words, boxed otherwise): every shape comes back whole and is
/// released exactly once.
@Suite struct GreenletResultTests {
    final class Token {
        static var alive = 0
        let id: Int
        init(_ id: Int) { self.id = id; Token.alive += 1 }
        deinit { Token.alive -= 1 }
    }
    struct Big: Equatable { var a = 1, b = 2, c = 3, d = 4, e = 5 }

    @Test func resultsOfEveryShapeComeBackWhole() throws {
        try green {
            let int = try spawn { 42 }.get()
            let string = try spawn { "a string longer than fifteen bytes" }.get()
            let big = try spawn { Big(a: 9) }.get()
            let array = try spawn { [1, 2, 3] }.get()
            #expect(int == 42)
            #expect(string == "a string longer than fifteen bytes")
            #expect(big == Big(a: 9))
            #expect(array == [1, 2, 3])
            let g = spawn { (1, "two", 3.0) }
            let t = try g.get()
            #expect(t.0 == 1 && t.1 == "two" && t.2 == 3.0)
            #expect(g.value?.1 == "two")
            try spawn {}.get()
        }
    }

    @Test func aResultIsReleasedWithItsGreenlet() throws {
        try green {
            let before = Token.alive
            do {
                let small = spawn { Token(1) }               // inline: one reference
                let big = spawn { (Token(2), Big(), Token(3)) } // boxed: more than three words
                let smallID = try small.get().id
                let bigID = try big.get().2.id
                #expect(smallID == 1)
                #expect(bigID == 3)
                #expect(Token.alive == before + 3)
            }
            #expect(Token.alive == before, "the results went with their greenlets")
        }
    }
}
