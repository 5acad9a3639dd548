//! A real `gatepass serve` process on a free loopback port, and a tiny blocking HTTP/1.1
//! client (one request per connection) to talk to it.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running server; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    /// `gatepass serve --listen 127.0.0.1:0 ARGS...`, logs to a file in `log_dir`.
    pub fn start(args: &[&str], log_dir: &std::path::Path) -> Self {
        Self::start_with_env(args, &[], log_dir)
    }

    /// [`start`](Self::start) with these environment variables set for the server.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)], log_dir: &std::path::Path) -> Self {
        let log = log_dir.join(format!(
            "server-{}.log",
            std::process::id() as u64 * 1000 + rand_suffix()
        ));
        let child = Command::new(crate::support::gatepass_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
            _dir: None,
        };
        let stdout = server.child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let announced: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("no address line from the server; log: {}", server.logs()));
        server.addr = announced["listening"].as_str().unwrap().parse().unwrap();
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first log line starting with `prefix`, waiting up to 10 s for it (the server
    /// writes its log asynchronously to the address line tests wait for).
    pub fn log_line(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(line) = self.logs().lines().find_map(|l| l.strip_prefix(prefix)) {
                return line.trim().to_owned();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {prefix:?} line in: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop with SIGTERM (graceful) and wait.
    pub fn stop(&mut self) {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            for _ in 0..100 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
        request(self.addr, method, path, headers, body)
    }

    pub fn json(&self, path: &str, body: &Value) -> Reply {
        self.request(
            "POST",
            path,
            &["Content-Type: application/json"],
            body.to_string().as_bytes(),
        )
    }

    pub fn get(&self, path: &str, headers: &[&str]) -> Reply {
        self.request("GET", path, headers, b"")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let all = self.all(name);
        assert!(all.len() <= 1, "several {name} headers: {all:?}");
        all.first().copied()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Present one refresh token `n` times at once (threads released by one barrier), request
/// `i` going to `addrs[i % addrs.len()]`, and return the HTTP statuses of the answers.
pub fn concurrent_refreshes(addrs: &[SocketAddr], token: &str, n: usize) -> Vec<u16> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let body = serde_json::json!({ "refresh_token": token }).to_string();
    (0..n)
        .map(|i| {
            let (addr, barrier, body) = (addrs[i % addrs.len()], barrier.clone(), body.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let headers = ["Content-Type: application/json"];
                request(addr, "POST", "/auth/refresh", &headers, body.as_bytes()).status
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect()
}

/// Exactly one of `statuses` is 200 and every other is 400 (`invalid_grant`).
pub fn assert_one_winner(statuses: &[u16]) {
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

/// Send one request and read the whole answer (`Connection: close`).
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading all of a large body.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let body = bytes[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    assert!(
        !headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")),
        "sized bodies only"
    );
    Reply {
        status,
        headers,
        body,
    }
}
