//! One client cannot hold `gatepass serve`: slow request heads and slow bodies are dropped,
//! open connections are capped, and bodies over 16 KiB answer 413 on every route however
//! they are sent (the test client of `server_support` sends only sized bodies, so chunked
//! requests are written by hand here).

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server_support::Server;

fn demo(args: &[&str]) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["--demo"];
    all.extend_from_slice(args);
    let server = Server::start(&all, dir.path());
    (dir, server)
}

/// Read until the server closes the connection; `None` if it is still open at `deadline`.
fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Some(bytes),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            // Closed with unread bytes of ours still in its buffer: closed all the same.
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Some(bytes),
            Err(e) => panic!("reading: {e}"),
        }
    }
}

/// The status code of a raw HTTP/1.1 answer, and its head and body.
fn parse(bytes: &[u8]) -> (u16, String, Vec<u8>) {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, bytes[split + 4..].to_vec())
}

/// One request whose body is sent with `Transfer-Encoding: chunked`, in `chunks`.
fn chunked(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    chunks: &[&[u8]],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    )
    .into_bytes();
    for header in headers {
        request.extend_from_slice(header.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer (413) before reading the end of a large body.
    let _ = stream.write_all(&request);
    let bytes = read_until_closed(&mut stream, Instant::now() + Duration::from_secs(20))
        .expect("an answer and a closed connection");
    let (status, _, body) = parse(&bytes);
    (status, body)
}

#[test]
fn slow_request_heads_are_dropped_while_other_clients_are_served() {
    let (_dir, server) = demo(&["--header-timeout", "1"]);
    let started = Instant::now();
    let mut half = TcpStream::connect(server.addr).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: gatepass\r\nX-Slow: ")
        .unwrap();
    let mut silent = TcpStream::connect(server.addr).unwrap();

    // Meanwhile, a normal request is answered at once.
    assert_eq!(server.get("/healthz", &[]).status, 200);

    for (name, stream) in [("half a head", &mut half), ("nothing", &mut silent)] {
        let closed = read_until_closed(stream, started + Duration::from_secs(8));
        let elapsed = started.elapsed();
        let answer = closed.unwrap_or_else(|| panic!("a connection sending {name} is still open"));
        assert!(
            answer.is_empty() || parse(&answer).0 == 408,
            "{name}: {:?}",
            String::from_utf8_lossy(&answer)
        );
        assert!(
            elapsed >= Duration::from_millis(900),
            "{name}: closed after {elapsed:?}, before the header timeout"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

/// Send `head`, then the body one byte every 100 ms (far slower than the request timeout
/// allows) until the server answers and closes, or 15 s pass.
fn trickle(addr: SocketAddr, head: &str, body_byte: u8) -> (Duration, Option<Vec<u8>>) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = started + Duration::from_secs(15);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let _ = stream.write_all(&[body_byte]);
        match stream.read(&mut buf) {
            Ok(0) => return (started.elapsed(), Some(answer)),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return (started.elapsed(), Some(answer))
            }
            Err(e) => panic!("reading: {e}"),
        }
    }
    (started.elapsed(), None)
}

#[test]
fn a_body_trickled_past_the_request_timeout_is_dropped() {
    let (_dir, server) = demo(&["--request-timeout", "2"]);
    let addr = server.addr;
    let sized = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    );
    let form = format!(
        "POST /auth/revoke HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    );
    // One 4 KiB chunk trickled to a route that never reads bodies: the 413 middleware
    // reads it.
    let chunk = format!(
        "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"
    );
    for (name, head, byte) in [
        ("sized", sized, b' '),
        ("form", form, b'a'),
        ("chunked", chunk, b'a'),
    ] {
        let (elapsed, answer) = trickle(addr, &head, byte);
        let answer = answer.unwrap_or_else(|| panic!("{name}: still open after {elapsed:?}"));
        let (status, head, _) = parse(&answer);
        assert_eq!(status, 408, "{name}: {head}");
        assert!(head.contains("connection: close"), "{name}: {head}");
        assert!(
            elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(6),
            "{name}: dropped after {elapsed:?}"
        );
    }
    assert_eq!(server.get("/healthz", &[]).status, 200);
}

#[test]
fn connections_beyond_the_cap_wait_until_one_closes() {
    let (_dir, server) = demo(&["--max-connections", "4", "--header-timeout", "60"]);
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = TcpStream::connect(server.addr).unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            stream
        })
        .collect();

    // The fifth connection is made (the kernel's backlog takes it) but not served.
    let mut fifth = TcpStream::connect(server.addr).unwrap();
    fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gatepass\r\nConnection: close\r\n\r\n")
        .unwrap();
    let early = read_until_closed(&mut fifth, Instant::now() + Duration::from_secs(1));
    assert!(
        early.is_none(),
        "a fifth connection was served while four were open: {:?}",
        early.map(|b| String::from_utf8_lossy(&b).into_owned())
    );

    // One held connection goes away: the fifth is accepted and answered.
    drop(held.pop());
    let answer = read_until_closed(&mut fifth, Instant::now() + Duration::from_secs(10))
        .expect("the fifth connection answered once a slot was free");
    let (status, _, body) = parse(&answer);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["status"],
        "ok"
    );

    // Still one slot free beside the three held connections, and the server is fine.
    assert_eq!(server.get("/healthz", &[]).status, 200);
    drop(held);
    let statuses: Vec<u16> = (0..8).map(|_| server.get("/healthz", &[]).status).collect();
    assert_eq!(statuses, [200; 8]);
    assert!(!server.logs().contains("panicked"), "{}", server.logs());
}

#[test]
fn chunked_bodies_over_16_kib_answer_413_on_every_route() {
    let (_dir, server) = demo(&[]);
    let addr = server.addr;
    let block = [b'a'; 4096];
    let over: [&[u8]; 5] = [&block, &block, &block, &block, b"a"];
    let exactly: [&[u8]; 4] = [&block, &block, &block, &block];
    for (method, path) in [
        ("GET", "/api/me"),
        ("GET", "/healthz"),
        ("GET", "/.well-known/jwks.json"),
        ("POST", "/auth/logout"),
        ("POST", "/auth/login"),
        ("POST", "/no-such-route"),
    ] {
        let (status, body) = chunked(addr, method, path, &[], &over);
        assert_eq!(
            status,
            413,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // At the limit and under it, the same routes answer as without a body.
    assert_eq!(chunked(addr, "GET", "/healthz", &[], &exactly).0, 200);
    assert_eq!(chunked(addr, "GET", "/healthz", &[], &[b"tiny"]).0, 200);
    assert_eq!(
        chunked(addr, "GET", "/.well-known/jwks.json", &[], &[b"tiny"]).0,
        200
    );
    assert_eq!(chunked(addr, "GET", "/api/me", &[], &[b"tiny"]).0, 401);

    // A chunked body a route does read arrives whole.
    let password = server.log_line("demo password: ");
    let login = serde_json::json!({ "username": "demo", "password": password }).to_string();
    let (first, second) = login.as_bytes().split_at(10);
    let (status, body) = chunked(
        addr,
        "POST",
        "/auth/login",
        &["Content-Type: application/json"],
        &[first, second],
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let tokens: Value = serde_json::from_slice(&body).unwrap();
    assert!(tokens["access_token"].is_string());
}

#[test]
fn limit_flags_out_of_range_are_usage_errors() {
    for (flag, value) in [
        ("--max-connections", "0"),
        ("--header-timeout", "0"),
        ("--request-timeout", "0"),
        ("--request-timeout", "86401"),
        ("--header-timeout", "-1"),
    ] {
        let output = std::process::Command::new(crate::support::gatepass_bin())
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", flag, value])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        assert!(output.stdout.is_empty(), "{flag} {value}: it listened");
    }
}
