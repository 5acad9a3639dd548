//! The one way the tests start `gatepass serve`: a [`ServerBuilder`] (keyset, users,
//! store, grace, any other flag or environment variable) spawning a [`RunningServer`] on a
//! free loopback port, its stderr captured in a log file.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::http::{request, Reply};
use super::{gatepass_bin, race, Fixture, AUD, ISS};

/// The password of every user the server fixtures create.
pub const PASSWORD: &str = "correct horse battery staple";

/// `gatepass serve --listen 127.0.0.1:0` and what follows, collected in call order.
#[derive(Clone, Debug, Default)]
pub struct ServerBuilder {
    args: Vec<String>,
    env: Vec<(String, String)>,
    log_dir: Option<PathBuf>,
}

impl ServerBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `--keyset PATH`.
    pub fn keyset(self, path: impl AsRef<Path>) -> Self {
        self.arg("--keyset").arg(path.as_ref().display())
    }

    /// `--users PATH`.
    pub fn users(self, path: impl AsRef<Path>) -> Self {
        self.arg("--users").arg(path.as_ref().display())
    }

    /// `--iss ISS --aud AUD` (the fixture's issuer and audience).
    pub fn issuer(self) -> Self {
        self.args(["--iss", ISS, "--aud", AUD])
    }

    /// `--store URL`.
    pub fn store(self, url: impl std::fmt::Display) -> Self {
        self.arg("--store").arg(url)
    }

    /// `--grace SECONDS`.
    pub fn grace(self, seconds: u64) -> Self {
        self.arg("--grace").arg(seconds)
    }

    pub fn arg(mut self, arg: impl std::fmt::Display) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn args<S: std::fmt::Display>(self, args: impl IntoIterator<Item = S>) -> Self {
        args.into_iter().fold(self, Self::arg)
    }

    /// An environment variable for the server process.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Where the log file goes (by default a temporary directory the server owns).
    pub fn log_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.log_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Start the server and wait for the line announcing its address.
    pub fn spawn(&self) -> RunningServer {
        let (log_dir, owned_dir) = match &self.log_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = tempfile::tempdir().unwrap();
                (dir.path().to_owned(), Some(dir))
            }
        };
        let log = log_dir.join(format!(
            "server-{}.log",
            u64::from(std::process::id()) * 1000 + log_suffix()
        ));
        let mut child = Command::new(gatepass_bin())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(&self.args)
            .envs(self.env.iter().map(|(n, v)| (n, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut server = RunningServer {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            announced: Value::Null,
            log,
            builder: self.clone(),
            _dir: owned_dir,
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let announced: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("no address line from the server; log: {}", server.logs()));
        server.addr = announced["listening"].as_str().unwrap().parse().unwrap();
        server.announced = announced;
        server
    }
}

impl Fixture {
    /// A server over the fixture's keyset with its issuer and audience, logging into the
    /// fixture's directory; the users file is [`Fixture::users`]'s.
    pub fn server(&self) -> ServerBuilder {
        ServerBuilder::new()
            .keyset(&self.keyset_path)
            .users(self.path("users.json"))
            .issuer()
            .log_dir(self.dir.path())
    }

    /// Add `names` (each with [`PASSWORD`]) to the fixture's users file; its path.
    pub fn users(&self, names: &[&str]) -> PathBuf {
        let path = self.path("users.json");
        for name in names {
            gatepass::UsersFile::add(&path, name, PASSWORD, false).unwrap();
        }
        path
    }
}

/// A running server; stopped (SIGKILL) on drop.
pub struct RunningServer {
    child: Child,
    pub addr: SocketAddr,
    /// The whole line the server announced itself with (`listening`, and `metrics` with
    /// `--metrics-listen`).
    pub announced: Value,
    pub log: PathBuf,
    builder: ServerBuilder,
    _dir: Option<tempfile::TempDir>,
}

impl RunningServer {
    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to stderr so far.
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

    /// Stop with SIGTERM (graceful) and wait; SIGKILL after 5 s.
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
        self.kill();
    }

    /// Stop with SIGKILL (a crash) and wait.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop (gracefully) and start again with the same flags (on a new port).
    pub fn restart(&mut self) {
        self.stop();
        *self = self.builder.spawn();
    }

    pub fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Reply {
        request(self.addr, method, path, headers, body)
    }

    /// `POST path` with a JSON body.
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

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn log_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// Present one refresh token `n` times at once ([`race`]), request `i` going to
/// `addrs[i % addrs.len()]`, and return the HTTP statuses of the answers.
pub fn concurrent_refreshes(addrs: &[SocketAddr], token: &str, n: usize) -> Vec<u16> {
    let body = serde_json::json!({ "refresh_token": token }).to_string();
    race(n, |i| {
        let headers = ["Content-Type: application/json"];
        request(
            addrs[i % addrs.len()],
            "POST",
            "/auth/refresh",
            &headers,
            body.as_bytes(),
        )
        .status
    })
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
