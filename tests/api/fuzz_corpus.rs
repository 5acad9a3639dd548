//! Fuzz corpus replay on stable: every file of every `fuzz/corpus/<target>/` and every
//! crash reproducer in `fuzz/regressions/<target>/` goes through the very function the
//! cargo-fuzz target calls (`gatepass::internal::fuzzing::<target>`), so CI checks the
//! fuzz properties without nightly or libFuzzer.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use gatepass::internal::fuzzing;

type Target = fn(&[u8]);

/// Every cargo-fuzz target, by the name of its `fuzz/fuzz_targets/<name>.rs`.
const TARGETS: &[(&str, Target)] = &[
    ("verify_token", fuzzing::verify_token),
    ("parse_header_claims", fuzzing::parse_header_claims),
    ("keyset_json", fuzzing::keyset_json),
    ("jwk_import", fuzzing::jwk_import),
    ("pem_import", fuzzing::pem_import),
    ("roundtrip", fuzzing::roundtrip),
    ("bearer_header", fuzzing::bearer_header),
    ("cookie_header", fuzzing::cookie_header),
    ("revocation_journal", fuzzing::revocation_journal),
    ("refresh_rotation", fuzzing::refresh_rotation),
    ("dpop_proof", fuzzing::dpop_proof),
    #[cfg(feature = "jwks-client")]
    ("jwks_cache_control", fuzzing::jwks_cache_control),
];

/// Targets whose library code needs a feature this build may lack: their corpora are
/// replayed only when it is on.
const FEATURE_GATED: [&str; 1] = ["jwks_cache_control"];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no fuzz target named {name}"))
}

fn has_target(name: &str) -> bool {
    TARGETS.iter().any(|(n, _)| *n == name)
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run every file of `dir` through `target`; return the failures, each named by its file.
fn replay(dir: &Path, target: Target) -> (usize, Vec<String>) {
    let files = files(dir);
    let mut failures = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", file.display()));
        }
    }
    (files.len(), failures)
}

/// The sub-directories of `dir` that are named after targets (and no others).
fn target_dirs(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.retain(|name| !FEATURE_GATED.contains(&name.as_str()) || has_target(name));
    for name in &names {
        target(name);
    }
    names
}

#[test]
fn every_target_has_a_committed_seed_corpus() {
    for &(name, _) in TARGETS {
        let count = files(&fuzz_dir().join("corpus").join(name)).len();
        assert!(count >= 10, "fuzz/corpus/{name} has only {count} seeds");
    }
    target_dirs(&fuzz_dir().join("corpus"));
}

#[test]
fn every_corpus_file_keeps_its_target_properties() {
    let mut failures = Vec::new();
    for &(name, target) in TARGETS {
        let (count, mut failed) = replay(&fuzz_dir().join("corpus").join(name), target);
        assert!(count > 0, "empty corpus for {name}");
        failures.append(&mut failed);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_crash_reproducer_is_fixed() {
    let dir = fuzz_dir().join("regressions");
    assert!(
        dir.join("README.md").is_file(),
        "fuzz/regressions/README.md is missing"
    );
    let mut failures = Vec::new();
    for name in target_dirs(&dir) {
        let (_, mut failed) = replay(&dir.join(&name), target(&name));
        failures.append(&mut failed);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One named test per crash reproducer in `fuzz/regressions/<target>/<file>`.
macro_rules! regression {
    ($test:ident, $target:literal, $file:literal) => {
        #[test]
        fn $test() {
            let path = fuzz_dir().join("regressions").join($target).join($file);
            target($target)(&fs::read(&path).unwrap());
        }
    };
}

regression!(
    float_custom_claims_survive_issue_then_verify_exactly,
    "roundtrip",
    "float-claim-one-ulp-off"
);
regression!(
    jwks_trusts_no_key_under_a_kid_shared_by_three,
    "jwk_import",
    "jwks-third-key-under-shared-kid-trusted"
);
regression!(
    jwks_reports_every_key_under_a_shared_kid,
    "jwk_import",
    "jwks-first-key-under-shared-kid-unreported"
);
regression!(
    a_duplicated_cookie_is_duplicate_whatever_its_first_value,
    "cookie_header",
    "duplicate-after-invalid-value-is-invalid-value"
);
regression!(
    a_bad_line_before_an_unterminated_record_is_corruption_whole_or_cut,
    "revocation_journal",
    "unterminated-record-after-bad-line-is-corruption"
);
regression!(
    a_number_beyond_a_double_in_a_custom_claim_is_invalid_claim,
    "verify_token",
    "huge-number-in-custom-claim-is-malformed"
);
regression!(
    a_number_beyond_a_double_in_a_string_claim_is_invalid_claim,
    "verify_token",
    "huge-number-in-string-claim-is-malformed"
);
regression!(
    a_token_too_long_because_of_escaped_characters_is_refused_at_issue,
    "roundtrip",
    "escaped-subject-makes-a-long-token"
);
