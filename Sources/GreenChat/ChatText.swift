/// What the room does to the bytes users send before anyone sees them: the
/// defence against spoofing the room on a terminal. Pure functions (no I/O,
/// no hub), so the fuzz target drives them directly.
///
/// A line as shown (`displayable`):
/// - telnet negotiation is dropped (`IAC` commands, option requests and
///   subnegotiations; an escaped `IAC IAC` data byte is not UTF-8 and shows as
///   U+FFFD);
/// - bytes that are not UTF-8 become U+FFFD;
/// - terminal escape sequences (`ESC [ ... final`, `ESC ] ... BEL/ST` and the
///   other string sequences, `ESC x`, and their C1 forms) are dropped whole;
/// - every other control character but tab (C0, DEL, C1) is dropped, and so are
///   the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069)
///   and the line and paragraph separators (U+2028, U+2029).
///
/// So what the room sends is valid UTF-8 whose only control characters are
/// tab and the `\n` it ends each line with: a `\r`, a cursor movement or an
/// erase cannot rewrite a line on the reader's terminal.
///
/// A name (`name(from:)`) is refused, rather than cleaned, when it holds a
/// control character (tab included) or an escape sequence, starts with `#`
/// (the room's notices start with `##`) or holds `>` (which ends the name in
/// `NAME> TEXT`); telnet negotiation in it is dropped first.
public enum ChatText {
    /// How a name line was judged.
    public enum NameCheck: Equatable, Sendable {
        /// A name the room accepts (trimmed of spaces).
        case accepted(String)
        /// Nothing but spaces: the room asks again.
        case empty
        /// A name that could spoof the room or a user: refused with `nameRefusedNotice`.
        case refused
    }

    /// Told to a client whose name was refused, before the prompt again.
    public static let nameRefusedNotice =
        "## That name is not allowed (printable characters only, no '#' first, no '>').\n"

    /// The text of `line` as the room shows it: its `\n` and a `\r` before it
    /// removed, then cleaned as the type's comment says. Never fails.
    public static func displayable<Bytes: Collection>(_ line: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var bytes = Array(line)
        if bytes.last == 10 { bytes.removeLast() }
        if bytes.last == 13 { bytes.removeLast() }
        if isPlain(bytes) { return bytes }
        return clean(withoutTelnetCommands(bytes)).text
    }

    /// Judges a name line (its `\n` and `\r` ignored).
    public static func name<Bytes: Collection>(from line: Bytes) -> NameCheck where Bytes.Element == UInt8 {
        var bytes = Array(line)
        if bytes.last == 10 { bytes.removeLast() }
        if bytes.last == 13 { bytes.removeLast() }
        let cleaned = clean(withoutTelnetCommands(bytes))
        let name = String(decoding: cleaned.text, as: UTF8.self).trimmingSpaces
        if name.isEmpty && !cleaned.droppedSomething { return .empty }
        if cleaned.droppedSomething || name.isEmpty || name.contains("\t") { return .refused }
        if name.hasPrefix("#") || name.contains(">") { return .refused }
        return .accepted(name)
    }

    /// Printable ASCII and tab only: nothing to clean (the common case, checked first).
    static func isPlain(_ bytes: [UInt8]) -> Bool {
        for b in bytes where (b < 0x20 && b != 9) || b > 0x7E { return false }
        return true
    }

    // MARK: - Telnet (RFC 854)

    static let iac: UInt8 = 0xFF
    static let subnegotiationBegin: UInt8 = 0xFA
    static let subnegotiationEnd: UInt8 = 0xF0

    /// `bytes` without telnet commands: `IAC WILL/WONT/DO/DONT x`, `IAC SB ... IAC SE`
    /// (to the end when unterminated) and two-byte `IAC x` commands are dropped;
    /// `IAC IAC` stands for one 0xFF data byte; an `IAC` before a byte that is
    /// no command is dropped alone.
    public static func withoutTelnetCommands(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(iac) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b != iac { out.append(b); i += 1; continue }
            guard i + 1 < n else { break }
            let command = bytes[i + 1]
            switch command {
            case iac:
                out.append(iac)
                i += 2
            case 0xFB...0xFE:  // WILL, WONT, DO, DONT + option
                i += 3
            case subnegotiationBegin:
                i += 2
                while i < n && !(bytes[i] == iac && i + 1 < n && bytes[i + 1] == subnegotiationEnd) { i += 1 }
                i += 2
            case 0xF0...0xF9:  // SE, NOP, DM, BRK, IP, AO, AYT, EC, EL, GA
                i += 2
            default:
                i += 1
            }
        }
        return out
    }

    // MARK: - Controls and escape sequences

    /// `bytes` decoded as UTF-8 (invalid bytes as U+FFFD), without controls,
    /// escape sequences, bidirectional controls and separators; and whether
    /// anything was dropped (U+FFFD replacements do not count).
    static func clean(_ bytes: [UInt8]) -> (text: [UInt8], droppedSomething: Bool) {
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var out = String.UnicodeScalarView()
        var dropped = false
        var i = 0
        let n = scalars.count
        while i < n {
            let v = scalars[i].value
            switch v {
            case 0x1B:  // ESC
                dropped = true
                i = endOfEscape(scalars, from: i + 1)
            case 0x9B:  // CSI
                dropped = true
                i = endOfControlSequence(scalars, from: i + 1)
            case 0x90, 0x98, 0x9D, 0x9E, 0x9F:  // DCS, SOS, OSC, PM, APC
                dropped = true
                i = endOfControlString(scalars, from: i + 1)
            case 9:
                out.append(scalars[i])
                i += 1
            case 0..<0x20, 0x7F, 0x80..<0xA0, 0x202A...0x202E, 0x2066...0x2069, 0x2028, 0x2029:
                dropped = true
                i += 1
            default:
                out.append(scalars[i])
                i += 1
            }
        }
        return (Array(String(out).utf8), dropped)
    }

    /// After an ESC at `from - 1`: the index just past its sequence.
    static func endOfEscape(_ s: [Unicode.Scalar], from: Int) -> Int {
        guard from < s.count else { return from }
        switch s[from].value {
        case 0x5B:  // [ : CSI
            return endOfControlSequence(s, from: from + 1)
        case 0x5D, 0x50, 0x58, 0x5E, 0x5F:  // ] P X ^ _ : OSC, DCS, SOS, PM, APC
            return endOfControlString(s, from: from + 1)
        case 0x20...0x2F:  // intermediates, then a final byte (ESC ( B ...)
            var i = from
            while i < s.count && (0x20...0x2F).contains(s[i].value) { i += 1 }
            return i < s.count && (0x30...0x7E).contains(s[i].value) ? i + 1 : i
        case 0x30...0x7E:  // ESC c, ESC 7, ESC M ...
            return from + 1
        default:
            return from
        }
    }

    /// A CSI sequence's parameters and intermediates, then its final byte.
    static func endOfControlSequence(_ s: [Unicode.Scalar], from: Int) -> Int {
        var i = from
        while i < s.count {
            let v = s[i].value
            if (0x40...0x7E).contains(v) { return i + 1 }
            if !(0x20...0x3F).contains(v) { return i }  // malformed: stop, drop what came before
            i += 1
        }
        return i
    }

    /// A string sequence (OSC, DCS...) up to its terminator: BEL, ST (`ESC \` or U+009C).
    static func endOfControlString(_ s: [Unicode.Scalar], from: Int) -> Int {
        var i = from
        while i < s.count {
            let v = s[i].value
            if v == 0x07 || v == 0x9C { return i + 1 }
            if v == 0x1B { return i + 1 < s.count && s[i + 1].value == 0x5C ? i + 2 : i + 1 }
            i += 1
        }
        return i
    }
}

extension String {
    /// Without leading and trailing white space (Unicode's definition).
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
