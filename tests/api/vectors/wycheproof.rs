//! Wycheproof's JSON Web Signature cases (C2SP/wycheproof,
//! `testvectors_v1/json_web_signature_test.json`), every one of them, through the library.
//!
//! Each group's key is imported as a verification key (its `public` JWK, or for HMAC its
//! `private` one) and each case's `jws` goes through `internal::verify_jws`: the verifier's
//! own size, structure, algorithm, key and signature checks, without the claim checks,
//! because Wycheproof's payloads are text, not JWTs. `valid` must verify and `invalid` must
//! be refused (at import or verification), except where
//! `tests/vectors/wycheproof_json_web_signature.txt` records that CONTRACT.md decides
//! otherwise, or that the case is skipped, with the reason and the exact outcome expected.
//!
//! The data file is not vendored (see `tests/vectors/README.md`): the harness reads it from
//! `$GATEPASS_WYCHEPROOF_JWS`, else from `../shared/vectors/wycheproof/` beside the
//! repository, pinned by SHA-256. Without it the test says so and passes, unless
//! `GATEPASS_REQUIRE_WYCHEPROOF` is set.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gatepass::{internal, VerifyingKey};
use serde_json::Value;

use super::format::{unread_members, Record, Tracked, VectorFile};
use super::{hex, key_outcome, kind, verifier, PINNED_NOW};

const EXPECTATIONS: &str = "wycheproof_json_web_signature.txt";
const FILE_ENV: &str = "GATEPASS_WYCHEPROOF_JWS";
const REQUIRE_ENV: &str = "GATEPASS_REQUIRE_WYCHEPROOF";
const SHARED_PATH: &str = "../shared/vectors/wycheproof/json_web_signature_test.json";

/// The JWK members that must agree between a group's `private` and `public` keys.
const PUBLIC_MEMBERS: [&str; 8] = ["kty", "crv", "x", "y", "n", "e", "kid", "alg"];

fn locate() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(FILE_ENV) {
        return Some(PathBuf::from(path));
    }
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join(SHARED_PATH);
    shared.exists().then_some(shared)
}

/// How many cases ran, per expected result, and how the invalid ones were refused.
#[derive(Default)]
struct Tally {
    valid: u64,
    invalid: u64,
    skipped: u64,
    decisions: u64,
    refusals: BTreeMap<String, u64>,
}

#[test]
fn wycheproof_jws_cases_meet_their_expected_result_or_the_recorded_contract_decision() {
    let mut expectations = VectorFile::load(EXPECTATIONS);
    let file = expectations.take("file");
    let mut decisions: BTreeMap<u64, Record> = expectations
        .take_all()
        .into_iter()
        .map(|r| (r.id().parse().unwrap(), r))
        .collect();

    let Some(path) = locate() else {
        assert!(
            std::env::var_os(REQUIRE_ENV).is_none(),
            "{REQUIRE_ENV} is set but the Wycheproof file is absent: set {FILE_ENV} or \
             place it at {SHARED_PATH}"
        );
        eprintln!(
            "SKIPPED: Wycheproof {} ({}) not found at ${FILE_ENV} or {SHARED_PATH}; \
             see tests/vectors/README.md",
            file.str("path"),
            file.str("commit"),
        );
        file.disarm();
        decisions.into_values().for_each(Record::disarm);
        return;
    };

    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref()),
        file.str("sha256"),
        "{}: not the {} {} of commit {} that {EXPECTATIONS} was written for",
        path.display(),
        file.str("repository"),
        file.str("path"),
        file.str("commit"),
    );
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let read = RefCell::new(BTreeSet::new());
    let root = Tracked::root(&doc, &read);

    assert_eq!(
        root.get("schema").str(),
        "json_web_signature_schema_v1.json"
    );
    let header: String = root.get("header").items().iter().map(|l| l.str()).collect();
    assert!(header.contains("JsonWebSignature"), "{header}");
    let notes = root.get("notes");
    let flags: BTreeMap<&str, String> = notes
        .keys()
        .into_iter()
        .map(|flag| {
            let note = notes.get(flag);
            let text = format!(
                "{} ({})",
                note.get("description").str(),
                note.get("bugType").str()
            );
            (flag, text)
        })
        .collect();

    let mut tally = Tally::default();
    let mut total = 0;
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    for group in root.get("testGroups").items() {
        assert_eq!(group.get("type").str(), "JsonWebSignature");
        let source = group.get("source");
        let origin = format!(
            "{} {} group {:?}",
            source.get("name").str(),
            source.get("version").str(),
            group.get("comment").str()
        );
        // The group's verifier, or why its key was refused.
        let verifier = group_key(&group, &origin).map(|key| verifier([key], PINNED_NOW));

        for case in group.get("tests").items() {
            total += 1;
            let id = case.get("tcId").u64();
            let label = format!("tcId {id} {:?} ({origin})", case.get("comment").str());
            let expected = case.get("result").str();
            let jws = case.get("jws").str();
            let notes: Vec<&str> = case
                .get("flags")
                .items()
                .iter()
                .map(|flag| {
                    let flag = flag.str();
                    flags
                        .get(flag)
                        .unwrap_or_else(|| panic!("{label}: flag {flag} has no note"))
                        .as_str()
                })
                .collect();
            let label = format!("{label} {notes:?}");
            seen.insert(id, jws);

            let outcome = match &verifier {
                Ok(verifier) => kind(&internal::verify_jws(verifier, jws)).to_owned(),
                Err(reason) => format!("key refused: {reason}"),
            };

            if let Some(decision) = decisions.remove(&id) {
                assert_eq!(
                    decision.str("wycheproof"),
                    expected,
                    "{label}: stale decision"
                );
                let gatepass = decision.str("gatepass");
                let reason = decision.str("reason");
                assert!(!reason.is_empty(), "{label}: a decision needs its reason");
                if let Some(twin) = decision.opt_u64("same_jws_as") {
                    assert_eq!(
                        seen.get(&twin),
                        Some(&jws),
                        "{label}: not tcId {twin}'s JWS"
                    );
                }
                if gatepass == "skip" {
                    let refusal = decision.str("key_import");
                    assert_eq!(
                        verifier.as_ref().err().map(String::as_str),
                        Some(refusal),
                        "{label}: a skipped case's key must be refused as recorded"
                    );
                    tally.skipped += 1;
                    continue;
                }
                assert_eq!(outcome, gatepass, "{label}: recorded decision: {reason}");
                tally.decisions += 1;
            } else if expected == "valid" {
                assert_eq!(outcome, "ok", "{label}: a valid signature was refused");
            } else {
                assert_eq!(expected, "invalid", "{label}: unknown result");
                assert_ne!(outcome, "ok", "{label}: an invalid JWS was accepted");
            }
            match expected {
                "valid" => tally.valid += 1,
                _ => tally.invalid += 1,
            }
            if expected == "invalid" && outcome != "ok" {
                *tally.refusals.entry(outcome).or_default() += 1;
            }
        }
    }

    assert!(
        decisions.is_empty(),
        "{EXPECTATIONS}: decisions for cases not in the file: {:?}",
        decisions.keys().collect::<Vec<_>>()
    );
    assert_eq!(root.get("numberOfTests").u64(), total, "numberOfTests");
    let unread = unread_members(&doc, &read.borrow());
    assert!(
        unread.is_empty(),
        "members the harness never read: {unread:?}"
    );

    eprintln!(
        "Wycheproof {} {} at {}: {total} cases; run {} valid and {} invalid ({} per a \
         recorded contract decision); skipped {}; invalid ones refused as {:?}",
        file.str("repository"),
        file.str("path"),
        file.str("commit"),
        tally.valid,
        tally.invalid,
        tally.decisions,
        tally.skipped,
        tally.refusals,
    );
    for (name, count) in [
        ("tests", total),
        ("run_valid", tally.valid),
        ("run_invalid", tally.invalid),
        ("decisions", tally.decisions),
        ("skipped", tally.skipped),
    ] {
        assert_eq!(
            file.str(name),
            count.to_string(),
            "{EXPECTATIONS}: {name} (README.md quotes these counts)"
        );
    }
}

/// The group's verification key: its `public` JWK, or for HMAC its `private` one. When
/// both are given, the public one must be the private one's public half.
fn group_key(group: &Tracked<'_>, origin: &str) -> Result<VerifyingKey, String> {
    let private = group.opt("private").map(|k| k.whole());
    let public = group.opt("public").map(|k| k.whole());
    if let (Some(private), Some(public)) = (private, public) {
        for member in PUBLIC_MEMBERS {
            if let Some(value) = public.get(member) {
                assert_eq!(private.get(member), Some(value), "{origin}: {member}");
            }
        }
    }
    let jwk = public
        .or(private)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{origin}: no key"));
    VerifyingKey::from_jwk(jwk).map_err(|e| key_outcome::<()>(&Err(e)))
}
