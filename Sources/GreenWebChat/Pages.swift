/// The chat's HTML and JavaScript (the seeds' choose.html, main.html,
/// room.html), every inserted text HTML-escaped.
enum Pages {
    /// `text` safe inside HTML text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `text` as one path segment of a URL.
    static func segment(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            switch b {
            case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                out += "%" + (b < 16 ? "0" : "") + String(b, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static let style = """
        <style>
          body { font-family: sans-serif; margin: 2em; background: #f7f7f2; }
          h1 { font-size: 1.4em; }
          #messages { list-style: none; padding: 0.5em; background: white; border: 1px solid #ccc; min-height: 8em; }
          #messages li { padding: 0.2em 0; border-bottom: 1px solid #eee; font-family: monospace; }
          input[type=text] { width: 24em; padding: 0.3em; }
        </style>
        """

    static func choose() -> String {
        """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>Green chat</title>\(style)</head>
        <body>
        <h1>Green chat</h1>
        <form id="name-form"><label>Your name: <input type="text" id="name" autofocus></label>
        <button type="submit">Enter</button></form>
        <script>
        document.getElementById('name-form').addEventListener('submit', function (e) {
          e.preventDefault();
          var name = document.getElementById('name').value.trim();
          if (name) location.href = '/' + encodeURIComponent(name);
        });
        </script>
        </body></html>
        """
    }

    static func main(uid: String, rooms: [String]) -> String {
        let links = rooms.map { "<li><a href=\"/\(segment($0))/\(segment(uid))\">\(escape($0))</a></li>" }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>Rooms</title>\(style)</head>
            <body>
            <h1>Hello \(escape(uid)), pick a room</h1>
            <ul id="rooms">
            \(links)
            </ul>
            </body></html>
            """
    }

    static func room(room: String, uid: String, messages: [String]) -> String {
        let items = messages.map { "<li>\(escape($0))</li>" }.joined(separator: "\n")
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(room))</title>\(style)</head>
            <body data-room="\(escape(room))" data-uid="\(escape(uid))">
            <h1>Room \(escape(room)) — you are \(escape(uid))</h1>
            <ul id="messages">
            \(items)
            </ul>
            <form id="send"><input type="text" id="message" autocomplete="off" autofocus>
            <button type="submit">Send</button></form>
            <script>
            (function () {
              var room = document.body.dataset.room, uid = document.body.dataset.uid;
              var list = document.getElementById('messages');
              function show(text) {
                var li = document.createElement('li');
                li.textContent = text;  // text, never markup
                list.appendChild(li);
              }
              function later(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
              document.getElementById('send').addEventListener('submit', function (e) {
                e.preventDefault();
                var input = document.getElementById('message');
                var body = new URLSearchParams({ message: input.value });
                input.value = '';
                fetch('/put/' + encodeURIComponent(room) + '/' + encodeURIComponent(uid), { method: 'POST', body: body })
                  .then(function (r) { if (r.status === 404) location.reload(); });
              });
              async function poll() {
                for (;;) {
                  try {
                    var r = await fetch('/poll/' + encodeURIComponent(uid), { method: 'POST' });
                    if (r.status === 404) { location.reload(); return; }
                    if (!r.ok) { await later(1000); continue; }
                    (await r.json()).forEach(show);
                  } catch (e) {
                    await later(1000);
                  }
                }
              }
              poll();
            })();
            </script>
            </body></html>
            """
    }
}
