//! Target over the JWKS client's freshness rule (feature `jwks-client`): `Cache-Control`
//! and `Age` of a JWKS response to the lifetime of the cached set.

use hyper::header::{HeaderMap, HeaderValue, AGE, CACHE_CONTROL};

use crate::jwks::{cache_lifetime, lifetime};
use crate::JwksClientBuilder;

/// `(default, floor, ceiling)` in seconds: the builder's defaults, and edge cases.
const BOUNDS: [(u64, u64, u64); 4] = [
    (600, 60, 3600),
    (0, 1, 1),
    (u64::MAX, 1, u64::MAX),
    (30, 300, 300),
];

/// Target `jwks_cache_control`: each input line is a `Cache-Control` field, except lines
/// starting with `Age:` (any case), which are `Age` fields.
///
/// Asserts: no panic; the lifetime of a fetched set is within `[floor, ceiling]` for the
/// builder's defaults and for edge-case bounds, and is the default (clamped) exactly when
/// the response says nothing; the order of the `Cache-Control` fields does not matter, nor
/// does joining them into one field with `, ` (RFC 9110 §5.3); `no-store` or `no-cache` in
/// any field means the floor; one more `max-age=N` never lengthens the lifetime beyond `N`;
/// and a larger `Age` never lengthens it.
pub fn jwks_cache_control(data: &[u8]) {
    let mut controls = Vec::new();
    let mut ages = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        match line.get(..4) {
            Some(name) if name.eq_ignore_ascii_case(b"age:") => {
                ages.push(line[4..].trim_ascii_start());
            }
            _ => controls.push(line),
        }
    }
    let max_age = cache_lifetime(&headers(&controls, &ages));
    check_bounds(max_age);

    let reversed: Vec<&[u8]> = controls.iter().rev().copied().collect();
    assert_eq!(
        cache_lifetime(&headers(&reversed, &ages)),
        max_age,
        "the order of Cache-Control fields changed the lifetime"
    );
    let valid: Vec<&[u8]> = controls
        .iter()
        .copied()
        .filter(|c| HeaderValue::from_bytes(c).is_ok_and(|v| v.to_str().is_ok()))
        .collect();
    if valid.len() > 1 {
        let joined = valid.join(&b", "[..]);
        assert_eq!(
            cache_lifetime(&headers(&[&joined], &ages)),
            max_age,
            "joining Cache-Control fields changed the lifetime"
        );
    }

    for directive in [&b"no-store"[..], b"NO-CACHE", b"public, no-cache"] {
        let mut more = controls.clone();
        more.push(directive);
        assert_eq!(cache_lifetime(&headers(&more, &ages)), Some(0));
    }

    let n = u64::try_from(data.len())
        .unwrap_or(u64::MAX)
        .wrapping_mul(37);
    let extra = format!("max-age={n}");
    let mut more = controls.clone();
    more.push(extra.as_bytes());
    let shorter = cache_lifetime(&headers(&more, &ages));
    assert!(
        shorter.is_some_and(|s| s <= n && max_age.is_none_or(|m| s <= m)),
        "max-age={n} after {max_age:?} gave {shorter:?}"
    );

    // The Age that counts is the first valid field's.
    let age = headers(&[], &ages)
        .get(AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let older = age.saturating_add(n).to_string();
    let mut aged: Vec<&[u8]> = vec![older.as_bytes()];
    aged.extend(&ages);
    let aged_lifetime = cache_lifetime(&headers(&controls, &aged));
    assert!(
        aged_lifetime <= max_age,
        "Age {older} lengthened {max_age:?} to {aged_lifetime:?}"
    );
    assert_eq!(aged_lifetime.is_some(), max_age.is_some());
}

fn headers(controls: &[&[u8]], ages: &[&[u8]]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in controls {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(CACHE_CONTROL, value);
        }
    }
    for value in ages {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(AGE, value);
        }
    }
    headers
}

fn check_bounds(max_age: Option<u64>) {
    let defaults = (
        JwksClientBuilder::DEFAULT_MAX_AGE.as_secs(),
        JwksClientBuilder::DEFAULT_MIN_MAX_AGE.as_secs(),
        JwksClientBuilder::DEFAULT_MAX_MAX_AGE.as_secs(),
    );
    assert_eq!(defaults, BOUNDS[0], "the documented defaults changed");
    for (default, floor, ceiling) in BOUNDS {
        let secs = lifetime(max_age, default, floor, ceiling);
        assert!(
            (floor..=ceiling).contains(&secs),
            "lifetime {secs} outside [{floor}, {ceiling}] for {max_age:?}"
        );
        match max_age {
            None => assert_eq!(secs, default.clamp(floor, ceiling)),
            Some(0) => assert_eq!(secs, floor, "no-store did not mean the floor"),
            Some(asked) => assert_eq!(secs, asked.clamp(floor, ceiling)),
        }
    }
}
