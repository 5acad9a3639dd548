//! The Dockerfile and the systemd unit: locked builds, a non-root user on a read-only root, a
//! sandboxed unit, flags that exist, and both starting a ready server.

use super::*;

#[test]
fn dockerfile_builds_locked_and_runs_serve_as_a_non_root_user_on_a_read_only_root() {
    let instructions = dockerfile_instructions();
    let from = all_args(&instructions, "FROM");
    assert!(from.len() >= 2, "multi-stage: {from:?}");
    assert!(
        from[0].to_ascii_lowercase().contains(" as "),
        "the builder stage is named: {from:?}"
    );
    assert!(
        all_args(&instructions, "RUN")
            .iter()
            .any(|run| run.contains("cargo build --release --locked")),
        "the builder builds the locked release binary"
    );
    assert!(
        all_args(&instructions, "COPY")
            .iter()
            .any(|copy| copy.starts_with("--from=")),
        "the runtime stage takes only the binary from the builder"
    );

    // The runtime stage: everything after the last FROM.
    let last_from = instructions.iter().rposition(|(n, _)| n == "FROM").unwrap();
    let runtime = &instructions[last_from..];
    let user = all_args(runtime, "USER");
    let user = user.last().expect("a USER in the runtime stage");
    let uid = user.split(':').next().unwrap();
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("a numeric UID, so the runtime can check it: {user}"));
    assert_ne!(uid, 0, "not root");
    let user_at = runtime.iter().rposition(|(n, _)| n == "USER").unwrap();
    assert!(
        !runtime[user_at..].iter().any(|(n, _)| n == "RUN"),
        "nothing runs as the server's user at build time"
    );

    assert!(
        all_args(runtime, "EXPOSE")
            .iter()
            .any(|e| e.split_whitespace().any(|p| p == "8080" || p == "8080/tcp")),
        "EXPOSE 8080"
    );
    let env = all_args(runtime, "ENV").join(" ");
    assert!(
        env.contains("GATEPASS_LISTEN=0.0.0.0:8080"),
        "listens on every interface inside the container: {env}"
    );
    assert!(
        env.contains("GATEPASS_CONFIG=/etc/gatepass/"),
        "the settings come from the mounted /etc/gatepass: {env}"
    );
    let health = all_args(runtime, "HEALTHCHECK");
    assert_eq!(health.len(), 1, "{health:?}");
    assert!(
        health[0].contains("CMD") && health[0].contains("http://127.0.0.1:8080/readyz"),
        "{}",
        health[0]
    );
    // A read-only root: the only place written is a volume.
    let volumes = all_args(runtime, "VOLUME").join(" ");
    assert!(volumes.contains("/var/lib/gatepass"), "{volumes}");

    // The command is `gatepass serve`, with flags and variables the binary has.
    let command = [
        all_args(runtime, "ENTRYPOINT").join(" "),
        all_args(runtime, "CMD").join(" "),
    ]
    .join(" ");
    let words: Vec<&str> = command
        .split(|c: char| c.is_whitespace() || "[],\"".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    assert!(words.contains(&"serve"), "{command}");
    let mut flags: Vec<String> = words
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect();
    let vars = env_vars(&repo_file("Dockerfile"));
    assert!(vars.contains("GATEPASS_LISTEN"), "{vars:?}");
    flags.extend(vars.iter().map(|v| flag_of_env(v)));
    assert_flags_exist("the Dockerfile", flags);

    let ignored = repo_file(".dockerignore");
    assert!(
        ignored.lines().any(|l| l.trim() == "target"),
        "the build context leaves out target/"
    );
}

#[test]
fn systemd_unit_is_sandboxed_and_starts_serve_with_real_flags() {
    let text = repo_file("packaging/gatepass.service");
    let settings = unit_settings(&text);
    let values = |key: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    for (key, expected) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "gatepass"),
        ("ConfigurationDirectory", "gatepass"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(values(key), [expected], "{key}");
    }
    assert!(values("SystemCallFilter").contains(&"@system-service"));
    let families = values("RestrictAddressFamilies");
    assert_eq!(families.len(), 1, "{families:?}");
    let families: BTreeSet<&str> = families[0].split_whitespace().collect();
    assert!(
        families.contains("AF_INET") && families.contains("AF_INET6"),
        "{families:?}"
    );
    assert!(
        families.iter().all(|f| f.starts_with("AF_")),
        "an allow-list: {families:?}"
    );
    let env_files = values("EnvironmentFile");
    assert_eq!(env_files.len(), 1);
    assert!(env_files[0]
        .trim_start_matches('-')
        .starts_with("/etc/gatepass/"));

    let exec = values("ExecStart");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert!(words[0].ends_with("/gatepass"), "{exec:?}");
    assert_eq!(words[1], "serve");
    let flags: Vec<String> = words
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap().to_owned())
        .collect();
    // The store URL may carry a password: it comes from the EnvironmentFile, never argv
    // (and a flag would beat the environment).
    assert!(!flags.iter().any(|f| f == "--store"), "{exec:?}");
    let mut all = flags;
    all.extend(env_vars(&text).iter().map(|v| flag_of_env(v)));
    assert_flags_exist("the systemd unit", all);

    // systemd's own reading of the unit, where systemd is installed.
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    if !analyze.is_ok_and(|o| o.status.success()) {
        println!("systemd-analyze not found: the unit was checked by the rules above only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("gatepass.service");
    // `verify` wants ExecStart's binary to exist: point it at the one just built.
    let installed = words[0];
    std::fs::write(
        &unit,
        text.replace(installed, &gatepass_bin().display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.lines().any(|l| l.contains("gatepass.service")),
        "systemd-analyze verify complains: {stderr}"
    );
}

/// A config directory like /etc/gatepass: gatepass.toml naming a keyset, a users file and a
/// file store under `dir`.
fn config_dir(dir: &std::path::Path) -> std::path::PathBuf {
    let fixture_keyset = Fixture::new();
    let keyset = dir.join("keys.json");
    std::fs::copy(&fixture_keyset.keyset_path, &keyset).unwrap();
    let users = dir.join("users.json");
    UsersFile::add(&users, "alice", PASSWORD, false).unwrap();
    let config = dir.join("gatepass.toml");
    std::fs::write(
        &config,
        format!(
            "keyset = {:?}\nusers = {:?}\nstore = {:?}\n",
            keyset.display().to_string(),
            users.display().to_string(),
            format!("file:{}", dir.join("sessions.journal").display()),
        ),
    )
    .unwrap();
    config
}

/// The server the way the packaging starts it (its environment, its arguments, a config
/// file where it expects one) is ready and logs JSON.
fn assert_starts_ready(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) {
    let server = env
        .iter()
        .fold(ServerBuilder::new().args(args), |b, (n, v)| b.env(n, v))
        .log_dir(dir)
        .spawn();
    let reply = server.get("/readyz", &[]);
    assert_eq!(reply.status, 200, "{}", server.logs());
    let login = server.json(
        "/auth/login",
        &json!({"username": "alice", "password": PASSWORD}),
    );
    assert_eq!(login.status, 200, "{}", login.text());
    let first = server.log_line("{");
    assert!(
        serde_json::from_str::<Value>(&format!("{{{first}")).is_ok(),
        "JSON log lines: {}",
        server.logs()
    );
    assert!(
        dir.join("sessions.journal").exists(),
        "the file store is used"
    );
}

#[test]
fn the_images_environment_and_the_units_command_start_a_ready_server() {
    // The Dockerfile's ENV, with its /etc/gatepass config file moved to a temporary one.
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path()).display().to_string();
    let instructions = dockerfile_instructions();
    let env_line = all_args(&instructions, "ENV").join(" ");
    let mut env: Vec<(String, String)> = env_line
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert!(env.iter().any(|(k, _)| k == "GATEPASS_CONFIG"));
    for (key, value) in &mut env {
        if key == "GATEPASS_CONFIG" {
            value.clone_from(&config);
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // ServerBuilder's `--listen 127.0.0.1:0` beats the image's 0.0.0.0:8080.
    assert_starts_ready(&[], &env, dir.path());

    // The unit's ExecStart, its /etc/gatepass config file moved likewise.
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir(dir.path()).display().to_string();
    let text = repo_file("packaging/gatepass.service");
    let exec = unit_settings(&text)
        .into_iter()
        .find(|(k, _)| k == "ExecStart")
        .unwrap()
        .1;
    let args: Vec<String> = exec
        .split_whitespace()
        .skip(2)
        .map(|arg| {
            if arg == "/etc/gatepass/gatepass.toml" {
                config.clone()
            } else {
                arg.to_owned()
            }
        })
        .collect();
    assert!(args.contains(&config), "{exec}");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_starts_ready(&args, &[], dir.path());
}
