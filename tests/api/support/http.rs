//! The one HTTP/1.1 response parser of the tests, and a tiny blocking client over it (one
//! request per connection, `Connection: close`).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// One HTTP answer: status, headers (names lowercased, in order) and the body (de-chunked
/// when the answer was `Transfer-Encoding: chunked`).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`, asserting there is at most one.
    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "several {name} headers: {all:?}");
        all.first().copied()
    }

    /// The `WWW-Authenticate` challenge.
    pub fn challenge(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The body as JSON, asserting it is labelled `Content-Type: application/json`.
    pub fn typed_json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        self.json()
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as text, asserting it is UTF-8.
    pub fn utf8(&self) -> &str {
        std::str::from_utf8(&self.body).expect("a UTF-8 body")
    }

    /// The head as `name: value` lines (lowercased names), for messages and `contains`.
    pub fn head(&self) -> String {
        let mut head = format!("status {}", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("\r\n{name}: {value}"));
        }
        head
    }

    /// Whether the body came chunked.
    pub fn chunked(&self) -> bool {
        self.all("transfer-encoding")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// Parse the raw bytes of one HTTP/1.1 answer (read until the server closed).
pub fn parse_response(bytes: &[u8]) -> Reply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: bytes[split + 4..].to_vec(),
    };
    if reply.chunked() {
        reply.body = dechunk(&reply.body);
    }
    reply
}

/// The payload of a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size = String::from_utf8_lossy(&raw[..end]);
        let size = size.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(size, 16).unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
        raw = &raw[end + 2..];
        if size == 0 || raw.len() < size {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = raw.get(size + 2..).unwrap_or_default();
    }
}

/// Send one request (`Connection: close`, sized body) and read the whole answer, which
/// must have a sized body too.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(request_head(addr, method, path, headers, body.len()).as_bytes())
        .unwrap();
    // The server may answer (413) before reading all of a large body.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let reply = parse_response(&bytes);
    assert!(!reply.chunked(), "sized bodies only");
    reply
}

/// The head of a [`request`]: request line, `Host`, `Connection: close`, `Content-Length`
/// and `headers`, ending in the blank line.
pub fn request_head(
    host: impl std::fmt::Display,
    method: &str,
    path: &str,
    headers: &[&str],
    content_length: usize,
) -> String {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {content_length}\r\n"
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}
