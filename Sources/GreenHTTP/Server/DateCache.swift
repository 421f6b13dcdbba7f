import Glibc

/// The `Date` header's value (RFC 9110's IMF-fixdate), formatted once a second.
/// One per server, used on its hub only.
final class DateCache {
    private var second: time_t = -1
    private var cached: [UInt8] = []

    /// Today's `Date` value, as bytes: "Sun, 06 Nov 1994 08:49:37 GMT".
    var value: [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            cached = DateCache.format(now)
        }
        return cached
    }

    static func format(_ t: time_t) -> [UInt8] {
        var t = t
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let text = "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
        return Array(text.utf8)
    }
}
