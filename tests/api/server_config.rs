//! `gatepass serve` settings from flags, `GATEPASS_*` environment variables and a TOML
//! `--config` file: precedence, errors that name their source, and a store password that
//! never appears in the process's command line.

use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

use gatepass::UsersFile;
use serde_json::{json, Value};

use crate::redis_store::redis_server::RedisServer;
use crate::server_support::Server;

const PASSWORD: &str = "correct horse battery staple";
const REDIS_SECRET: &str = "s3cret-redis-pass";

/// `gatepass serve ARGS --print-config` with `env` set (and every other GATEPASS_
/// variable of the test process removed).
fn print_config(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(crate::support::gatepass_bin());
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEPASS_") {
            command.env_remove(name);
        }
    }
    command
        .arg("serve")
        .args(args)
        .arg("--print-config")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn settings(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn usage_error(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatepass.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7001\"\naccess_ttl = 120\ncookies = true\ntrusted_proxy = [\"10.0.0.0/8\", \"fd00::/8\"]\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let env = [
        ("GATEPASS_LISTEN", "127.0.0.1:7002"),
        ("GATEPASS_GRACE", "5"),
    ];

    let all = settings(&print_config(
        &["--config", config, "--listen", "127.0.0.1:7003"],
        &env,
    ));
    assert_eq!(all["settings"]["listen"], "127.0.0.1:7003");
    assert_eq!(all["sources"]["listen"], "flag");
    assert_eq!(all["settings"]["grace"], "5");
    assert_eq!(all["sources"]["grace"], "env");
    assert_eq!(all["settings"]["access_ttl"], "120");
    assert_eq!(all["sources"]["access_ttl"], "file");
    assert_eq!(all["settings"]["cookies"], true);
    assert_eq!(
        all["settings"]["trusted_proxy"],
        json!(["10.0.0.0/8", "fd00::/8"])
    );
    assert_eq!(all["settings"]["idle_timeout"], "1800");
    assert_eq!(all["sources"]["idle_timeout"], "default");

    let no_flag = settings(&print_config(&["--config", config], &env));
    assert_eq!(no_flag["settings"]["listen"], "127.0.0.1:7002");
    let no_env = settings(&print_config(&["--config", config], &[]));
    assert_eq!(no_env["settings"]["listen"], "127.0.0.1:7001");
    let nothing = settings(&print_config(&[], &[]));
    assert_eq!(nothing["settings"]["listen"], "127.0.0.1:8080");
    // The file can come from the environment too.
    let by_env = settings(&print_config(&[], &[("GATEPASS_CONFIG", config)]));
    assert_eq!(by_env["settings"]["access_ttl"], "120");
}

#[test]
fn bad_settings_are_usage_errors_that_name_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatepass.toml");
    let config = file.to_str().unwrap();

    std::fs::write(&file, "acess_ttl = 120\n").unwrap();
    let err = usage_error(&print_config(&["--config", config], &[]));
    assert!(err.contains(config) && err.contains("acess_ttl"), "{err}");

    std::fs::write(&file, "access_ttl = \"soon\"\n").unwrap();
    let err = usage_error(&print_config(&["--config", config], &[]));
    assert!(err.contains(config) && err.contains("access_ttl"), "{err}");

    std::fs::write(&file, "access_ttl = [").unwrap();
    let err = usage_error(&print_config(&["--config", config], &[]));
    assert!(err.contains("not valid TOML"), "{err}");

    let err = usage_error(&print_config(&[], &[("GATEPASS_LEEWAY", "-3")]));
    assert!(err.contains("GATEPASS_LEEWAY"), "{err}");
    let err = usage_error(&print_config(&[], &[("GATEPASS_COOKIES", "maybe")]));
    assert!(err.contains("GATEPASS_COOKIES"), "{err}");
    let err = usage_error(&print_config(&["--config", "/nonexistent/gp.toml"], &[]));
    assert!(err.contains("/nonexistent/gp.toml"), "{err}");
    // A flag's own error is clap's, as before.
    let err = usage_error(&print_config(&["--access-ttl", "x"], &[]));
    assert!(err.contains("--access-ttl"), "{err}");
}

/// Require a password of a running test Redis (`CONFIG SET requirepass`).
fn require_password(redis: &RedisServer) {
    let mut stream = TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
    let command = format!(
        "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n${}\r\n{REDIS_SECRET}\r\n",
        REDIS_SECRET.len()
    );
    stream.write_all(command.as_bytes()).unwrap();
    let mut reply = [0u8; 5];
    std::io::Read::read_exact(&mut stream, &mut reply).unwrap();
    assert_eq!(&reply, b"+OK\r\n");
}

fn login_works(server: &Server) {
    let reply = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(server.get("/readyz", &[]).status, 200);
}

fn command_line(server: &Server) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap())
        .replace('\0', " ")
}

#[test]
fn a_store_password_from_the_environment_or_the_file_never_reaches_argv_or_the_logs() {
    let redis = RedisServer::start(false);
    require_password(&redis);
    let url = format!("redis://:{REDIS_SECRET}@127.0.0.1:{}", redis.port());
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let keyset = dir.path().join("keyset.json");
    let mut keys = gatepass::Keyset::new();
    keys.generate(
        gatepass::Algorithm::EdDSA,
        gatepass::GenerateOptions::default(),
        1,
    )
    .unwrap();
    keys.save(&keyset).unwrap();
    let base = [
        "--keyset",
        keyset.to_str().unwrap(),
        "--users",
        users.to_str().unwrap(),
    ];

    // Only in the environment.
    let server = Server::start_with_env(&base, &[("GATEPASS_STORE", &url)], dir.path());
    login_works(&server);
    assert!(!command_line(&server).contains(REDIS_SECRET));
    drop(server);

    // Only in the config file (mode 0600 is the operator's job; the file is never echoed).
    let file = dir.path().join("gatepass.toml");
    std::fs::write(&file, format!("store = \"{url}\"\n")).unwrap();
    let mut args = base.to_vec();
    args.extend_from_slice(&["--config", file.to_str().unwrap()]);
    let server = Server::start(&args, dir.path());
    login_works(&server);
    assert!(!command_line(&server).contains(REDIS_SECRET));
    assert!(!server.logs().contains(REDIS_SECRET), "{}", server.logs());

    // --print-config masks it.
    let shown = settings(&print_config(&args, &[]));
    let store = shown["settings"]["store"].as_str().unwrap();
    assert_eq!(store, format!("redis://:****@127.0.0.1:{}", redis.port()));
    assert_eq!(shown["sources"]["store"], "file");
    assert!(!String::from_utf8_lossy(&print_config(&args, &[]).stdout).contains(REDIS_SECRET));
}
