//! `gatepass keys rotate`: one idempotent step of the rotation policy per run, a JSON
//! report on stdout, and refusals (exit 2) that say why.

use serde_json::Value;

use crate::support::*;

fn rotate(keyset: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["keys", "rotate", "--keyset", keyset];
    args.extend_from_slice(extra);
    run_str(&args)
}

fn states(keyset: &str) -> Vec<(String, String)> {
    let listed = stdout_json(&run_str(&["keys", "list", "--keyset", keyset, "--json"]));
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kids(report: &Value, field: &str) -> Vec<String> {
    report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn keys_rotate_runs_the_policy_one_idempotent_step_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let keyset = path.to_str().unwrap();
    let first = stdout_json(&run_str(&["keygen", "--alg", "ES256", "--keyset", keyset]));
    let first = first["kid"].as_str().unwrap().to_owned();
    let listed = stdout_json(&run_str(&["keys", "list", "--keyset", keyset, "--json"]));
    let t0 = listed[0]["created_at"].as_u64().unwrap() + 10;
    let at = |secs: u64| (t0 + secs).to_string();

    // Step 1: a pending key joins the JWKS.
    let step = stdout_json(&rotate(keyset, &["--at", &at(0)]));
    assert_eq!(step["changed"], true);
    let second = kids(&step, "generated");
    assert_eq!(second.len(), 1);
    assert_eq!(step["generated"][0]["alg"], "ES256");
    assert_eq!(step["pending"][0]["at"].as_u64(), Some(t0 + 3600));
    assert_eq!(step["next_step_at"].as_u64(), Some(t0 + 3600));
    assert_eq!(step["jwks_max_age"], 600);
    let jwks = stdout_json(&run_str(&["jwks", "--keyset", keyset]));
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "pending keys are published"
    );

    // Run again (cron): nothing to do yet.
    for secs in [0, 3599] {
        let again = stdout_json(&rotate(keyset, &["--at", &at(secs)]));
        assert_eq!(again["changed"], false, "{again}");
    }

    // Published for publish-ahead: it signs, the old key retires, a new one waits.
    let step = stdout_json(&rotate(keyset, &["--at", &at(3600)]));
    assert_eq!(kids(&step, "activated"), second);
    assert_eq!(kids(&step, "retired"), vec![first.clone()]);
    assert_eq!(kids(&step, "generated").len(), 1);
    let states = states(keyset);
    assert!(states.contains(&(first.clone(), "retiring".into())));
    assert!(states.contains(&(second[0].clone(), "active".into())));

    // The retired key goes after retire-after, not before.
    let step = stdout_json(&rotate(keyset, &["--at", &at(3600 + 86_399)]));
    assert!(kids(&step, "removed").is_empty());
    let step = stdout_json(&rotate(keyset, &["--at", &at(3600 + 86_400)]));
    assert_eq!(kids(&step, "removed"), vec![first.clone()]);
    assert!(!self::states(keyset).iter().any(|(kid, _)| *kid == first));
}

#[test]
fn keys_rotate_takes_the_policy_from_flags_and_an_algorithm_to_start_a_family() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let keyset = path.to_str().unwrap();
    run_str(&["keygen", "--alg", "EdDSA", "--keyset", keyset]);
    let t0 = stdout_json(&run_str(&["keys", "list", "--keyset", keyset, "--json"]))[0]
        ["created_at"]
        .as_u64()
        .unwrap()
        + 1;
    let flags = ["--publish-ahead", "60", "--retire-after", "120"];
    let run = |at: u64, extra: &[&str]| {
        let at = at.to_string();
        let mut args: Vec<&str> = flags.to_vec();
        args.extend_from_slice(&["--at", &at]);
        args.extend_from_slice(extra);
        stdout_json(&rotate(keyset, &args))
    };
    let step = run(t0, &["--alg", "HS256"]);
    assert_eq!(step["generated"][0]["alg"], "HS256");
    assert_eq!(step["jwks_max_age"], 60);
    let step = run(t0 + 60, &[]);
    // Both families rotate: EdDSA gets its first pending key, HMAC's pending key activates.
    assert_eq!(step["activated"][0]["alg"], "HS256");
    let algs: Vec<&str> = step["generated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["EdDSA", "HS256"]);
}

#[test]
fn keys_rotate_refuses_unsafe_steps_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    let keyset = path.to_str().unwrap();

    let missing = rotate(keyset, &[]);
    assert_eq!(missing.status.code(), Some(2));

    run_str(&["keygen", "--alg", "EdDSA", "--keyset", keyset]);
    let before = std::fs::read(&path).unwrap();
    let refusals: [(&[&str], &str); 3] = [
        // A clock behind the keyset's dates could activate or remove too early.
        (&["--at", "1000"], "the clock or the keyset is wrong"),
        // Tokens living an hour outlast a 10-minute retirement.
        (
            &["--retire-after", "600", "--max-token-lifetime", "3600"],
            "would strand live tokens",
        ),
        (&["--alg", "RS256"], "verify-only"),
    ];
    for (args, reason) in refusals {
        let out = rotate(keyset, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("rotation refused"), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "left untouched");
    }

    // A pending key whose publication time is unknown is never activated on a guess.
    let mut doc: Value = serde_json::from_slice(&before).unwrap();
    let mut pending = doc["keys"][0].clone();
    pending["kid"] = "hand-made".into();
    pending["state"] = "pending".into();
    pending.as_object_mut().unwrap().remove("created_at");
    pending.as_object_mut().unwrap().remove("activated_at");
    doc["keys"].as_array_mut().unwrap().push(pending);
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = rotate(keyset, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"hand-made\" has no created_at"));
}
