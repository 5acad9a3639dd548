//! One conformance suite for every `SessionStore` (memory, file, Redis, PostgreSQL): the same
//! operations must mean the same thing on each.

use std::sync::Arc;

use gatepass::{
    ClientInfo, ConsumeOutcome, ConsumeRequest, EndReason, IssuedPair, MemoryStore,
    RevocationQuery, Revoked, SessionRecord, SessionStore, SubjectCutoff, MAX_USER_AGENT_BYTES,
};

use crate::support::{block_on, race_futures};

/// A session `sid` of `sub` created at `now` (generation 0, current refresh `{sid}-r0`).
pub(crate) fn record(sid: &str, sub: &str, now: u64) -> SessionRecord {
    SessionRecord::new(sid.into(), sub.into(), format!("{sid}-r0"), now, 1000, 100)
}

/// Consume refresh `jti` of generation `gen` at `now`, naming `{sid}-r{gen+1}` its successor.
pub(crate) fn consume(sid: &str, gen: u64, jti: &str, now: u64, grace: u64) -> ConsumeRequest {
    ConsumeRequest::new(
        sid.into(),
        gen,
        jti.into(),
        now,
        format!("{sid}-r{}", gen + 1),
        IssuedPair::new(format!("access-{gen}"), format!("refresh-{gen}"), 300),
        grace,
        now + 600,
    )
}

fn revoked(
    store: &dyn SessionStore,
    jti: &str,
    sid: Option<&str>,
    sub: &str,
    iat: u64,
) -> Option<Revoked> {
    store
        .revocations()
        .check(&RevocationQuery::new(jti, sid, sub, iat))
}

/// Run every conformance check against stores made by `make` (a fresh, empty store each).
pub fn run_all(make: &dyn Fn() -> Arc<dyn SessionStore>) {
    rotation_is_exactly_once(&*make());
    reuse_ends_only_that_session(&*make());
    grace_returns_the_stored_successor(&*make());
    timeouts_end_sessions(&*make());
    logout_all_ends_existing_sessions_only(&*make());
    revocations_are_visible_and_pruned(&*make());
    listing_shows_the_live_sessions_of_one_subject(&*make());
    listing_follows_rotation_and_keeps_the_client_unless_told(&*make());
    listing_leaves_out_ended_and_timed_out_sessions(&*make());
    client_metadata_is_bounded_and_round_trips(&*make());
    concurrent_consumers_have_one_winner(make());
}

fn client(user_agent: &str, ip: &str) -> ClientInfo {
    ClientInfo::new(Some(user_agent), Some(ip.parse().unwrap()))
}

/// `sub`'s live sessions at `now`, sorted by sid.
fn listed(store: &dyn SessionStore, sub: &str, now: u64) -> Vec<SessionRecord> {
    let mut records = block_on(store.list_sessions(sub, now)).unwrap();
    records.sort_by(|a, b| a.sid.cmp(&b.sid));
    records
}

fn sids(records: &[SessionRecord]) -> Vec<&str> {
    records.iter().map(|r| r.sid.as_str()).collect()
}

fn listing_shows_the_live_sessions_of_one_subject(store: &dyn SessionStore) {
    let laptop = client("Firefox/128.0", "203.0.113.77");
    let phone = client("MyApp/2.1 (iPhone)", "2001:db8:7:1::5");
    block_on(store.create_session(record("l1", "erin", 10).with_client(laptop.clone()))).unwrap();
    block_on(store.create_session(record("l2", "erin", 12).with_client(phone.clone()))).unwrap();
    block_on(store.create_session(record("l3", "frank", 10))).unwrap();
    let erin = listed(store, "erin", 20);
    assert_eq!(sids(&erin), ["l1", "l2"]);
    let first = &erin[0];
    assert_eq!(
        (
            first.sub.as_str(),
            first.created_at,
            first.last_used_at,
            first.expires_at
        ),
        ("erin", 10, 10, 1010)
    );
    assert_eq!(first.client, laptop);
    assert_eq!(first.client.network(), Some("203.0.113.0/24"));
    assert_eq!(erin[1].client, phone);
    assert_eq!(erin[1].client.network(), Some("2001:db8:7::/48"));
    // Never another subject's sessions; a subject without any lists none.
    assert_eq!(sids(&listed(store, "frank", 20)), ["l3"]);
    assert!(listed(store, "frank", 20)[0].client.is_empty());
    assert!(listed(store, "nobody", 20).is_empty());
    // What the listing shows is what `session` shows.
    assert_eq!(
        block_on(store.session("l1")).unwrap().unwrap().client,
        laptop
    );
}

fn listing_follows_rotation_and_keeps_the_client_unless_told(store: &dyn SessionStore) {
    let first = client("Old/1.0", "198.51.100.1");
    block_on(store.create_session(record("m", "gina", 10).with_client(first.clone()))).unwrap();
    // A refresh that does not tell its client keeps the session's.
    assert_eq!(
        block_on(store.consume_if_current(consume("m", 0, "m-r0", 11, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    let now = &listed(store, "gina", 11)[0];
    assert_eq!((now.last_used_at, &now.client), (11, &first));
    // One that tells it replaces it, user agent and network both.
    let moved = ClientInfo::new(None, Some("192.0.2.200".parse().unwrap()));
    let request = consume("m", 1, "m-r1", 15, 0).with_client(moved.clone());
    assert_eq!(
        block_on(store.consume_if_current(request)).unwrap(),
        ConsumeOutcome::Rotated
    );
    let now = &listed(store, "gina", 15)[0];
    assert_eq!((now.gen, now.last_used_at, &now.client), (2, 15, &moved));
    assert_eq!(now.client.user_agent(), None);
    // A refused refresh (reuse) changes nothing but ends the session: gone from the list.
    let reuse = consume("m", 0, "m-r0", 16, 0).with_client(first);
    assert_eq!(
        block_on(store.consume_if_current(reuse)).unwrap(),
        ConsumeOutcome::Reused
    );
    assert!(listed(store, "gina", 16).is_empty());
}

fn listing_leaves_out_ended_and_timed_out_sessions(store: &dyn SessionStore) {
    for (sid, at) in [("n1", 0), ("n2", 50), ("n3", 50), ("n4", 50)] {
        block_on(store.create_session(record(sid, "hank", at))).unwrap();
    }
    assert_eq!(sids(&listed(store, "hank", 60)), ["n1", "n2", "n3", "n4"]);
    // Logout of one session (the path ending a listed session takes).
    assert!(block_on(store.revoke_session("n2", 900, EndReason::Logout)).unwrap());
    // n1 was idle for 100 s at 100: timed out, even before a prune removes it.
    assert_eq!(sids(&listed(store, "hank", 100)), ["n3", "n4"]);
    // A session's listed end is its idle end until the absolute one is nearer.
    assert_eq!(listed(store, "hank", 100)[0].ends_at(), 150);
    block_on(store.revoke_subject("hank", SubjectCutoff::new(101, Some(900)), 900)).unwrap();
    assert!(listed(store, "hank", 101).is_empty());
    // Sessions created after a logout-all are listed.
    block_on(store.create_session(record("n5", "hank", 101))).unwrap();
    assert_eq!(sids(&listed(store, "hank", 101)), ["n5"]);
}

fn client_metadata_is_bounded_and_round_trips(store: &dyn SessionStore) {
    // 255 ASCII bytes, then a 3-byte character straddling the bound: cut before it.
    let agent = format!("{}€ and much more", "x".repeat(255));
    let long = ClientInfo::new(Some(&agent), Some("10.1.2.3".parse().unwrap()));
    assert_eq!(long.user_agent().map(str::len), Some(255));
    // Multi-byte text that fits goes through unchanged.
    let unicode = client("Café-Browser/1 «ünïcødé» 日本語", "::ffff:172.16.5.4");
    block_on(store.create_session(record("o1", "ivy", 10).with_client(long.clone()))).unwrap();
    block_on(store.create_session(record("o2", "ivy", 10).with_client(unicode.clone()))).unwrap();
    let ivy = listed(store, "ivy", 10);
    assert_eq!(ivy[0].client, long);
    assert!(ivy[0].client.user_agent().unwrap().len() <= MAX_USER_AGENT_BYTES);
    assert_eq!(ivy[0].client.network(), Some("10.1.2.0/24"));
    assert_eq!(ivy[1].client, unicode);
    assert_eq!(ivy[1].client.network(), Some("172.16.5.0/24"));
}

fn rotation_is_exactly_once(store: &dyn SessionStore) {
    block_on(store.create_session(record("s1", "alice", 10))).unwrap();
    let first = block_on(store.consume_if_current(consume("s1", 0, "s1-r0", 11, 0))).unwrap();
    assert_eq!(first, ConsumeOutcome::Rotated);
    let session = block_on(store.session("s1")).unwrap().unwrap();
    assert_eq!(
        (
            session.gen,
            session.refresh_jti.as_str(),
            session.last_used_at
        ),
        (1, "s1-r1", 11)
    );
    let next = block_on(store.consume_if_current(consume("s1", 1, "s1-r1", 12, 0))).unwrap();
    assert_eq!(next, ConsumeOutcome::Rotated);
    let unknown = block_on(store.consume_if_current(consume("nope", 0, "x", 12, 0))).unwrap();
    assert_eq!(unknown, ConsumeOutcome::Unknown);
}

fn reuse_ends_only_that_session(store: &dyn SessionStore) {
    block_on(store.create_session(record("a", "alice", 10))).unwrap();
    block_on(store.create_session(record("b", "alice", 10))).unwrap();
    assert_eq!(
        block_on(store.consume_if_current(consume("a", 0, "a-r0", 11, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert_eq!(
        block_on(store.consume_if_current(consume("a", 0, "a-r0", 12, 0))).unwrap(),
        ConsumeOutcome::Reused
    );
    // The newest token of the reused session is dead too, and its access tokens by sid.
    assert_eq!(
        block_on(store.consume_if_current(consume("a", 1, "a-r1", 13, 0))).unwrap(),
        ConsumeOutcome::Unknown
    );
    assert_eq!(
        revoked(store, "j", Some("a"), "alice", 11),
        Some(Revoked::Session)
    );
    // The other session of the same user is untouched.
    assert_eq!(revoked(store, "j", Some("b"), "alice", 11), None);
    assert_eq!(
        block_on(store.consume_if_current(consume("b", 0, "b-r0", 13, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
}

fn grace_returns_the_stored_successor(store: &dyn SessionStore) {
    block_on(store.create_session(record("g", "alice", 10))).unwrap();
    assert_eq!(
        block_on(store.consume_if_current(consume("g", 0, "g-r0", 11, 5))).unwrap(),
        ConsumeOutcome::Rotated
    );
    let replay = block_on(store.consume_if_current(consume("g", 0, "g-r0", 15, 5))).unwrap();
    assert_eq!(
        replay,
        ConsumeOutcome::Grace(IssuedPair::new("access-0".into(), "refresh-0".into(), 300))
    );
    // The replay did not rotate anything: the current token is still current.
    assert_eq!(block_on(store.session("g")).unwrap().unwrap().gen, 1);
    assert_eq!(
        block_on(store.consume_if_current(consume("g", 0, "g-r0", 16, 5))).unwrap(),
        ConsumeOutcome::Reused
    );
}

fn timeouts_end_sessions(store: &dyn SessionStore) {
    block_on(store.create_session(record("idle", "u", 0))).unwrap();
    let idle = block_on(store.consume_if_current(consume("idle", 0, "idle-r0", 100, 0))).unwrap();
    assert_eq!(idle, ConsumeOutcome::Ended(EndReason::IdleTimeout));
    assert!(block_on(store.session("idle")).unwrap().is_none());
    block_on(store.create_session(record("abs", "u", 0))).unwrap();
    let abs = block_on(store.consume_if_current(consume("abs", 0, "abs-r0", 1000, 0))).unwrap();
    assert_eq!(abs, ConsumeOutcome::Ended(EndReason::AbsoluteTimeout));
}

fn logout_all_ends_existing_sessions_only(store: &dyn SessionStore) {
    block_on(store.create_session(record("x1", "carol", 10))).unwrap();
    block_on(store.create_session(record("x2", "carol", 10))).unwrap();
    block_on(store.create_session(record("y1", "dave", 10))).unwrap();
    let mut ended =
        block_on(store.revoke_subject("carol", SubjectCutoff::new(20, Some(900)), 900)).unwrap();
    ended.sort();
    assert_eq!(ended, ["x1", "x2"]);
    assert_eq!(
        revoked(store, "j", Some("x1"), "carol", 10),
        Some(Revoked::Session)
    );
    // A token without a session, issued before the cut-off, is caught by the cut-off.
    assert_eq!(
        revoked(store, "j", None, "carol", 19),
        Some(Revoked::Subject)
    );
    // A session created after the answer (even in the same second) is unaffected.
    block_on(store.create_session(record("x3", "carol", 20))).unwrap();
    assert_eq!(revoked(store, "j", Some("x3"), "carol", 20), None);
    assert_eq!(
        block_on(store.consume_if_current(consume("x3", 0, "x3-r0", 21, 0))).unwrap(),
        ConsumeOutcome::Rotated
    );
    assert!(block_on(store.session("y1")).unwrap().is_some());
}

fn revocations_are_visible_and_pruned(store: &dyn SessionStore) {
    block_on(store.revoke_token("jti-1", 50)).unwrap();
    assert_eq!(revoked(store, "jti-1", None, "u", 1), Some(Revoked::Token));
    block_on(store.create_session(record("p", "u", 0))).unwrap();
    assert!(block_on(store.revoke_session("p", 60, EndReason::Logout)).unwrap());
    assert!(
        !block_on(store.revoke_session("p", 60, EndReason::Logout)).unwrap(),
        "already ended"
    );
    let report = block_on(store.prune(60)).unwrap();
    assert!(report.revocations_removed >= 2);
    assert_eq!(revoked(store, "jti-1", Some("p"), "u", 1), None);
}

fn concurrent_consumers_have_one_winner(store: Arc<dyn SessionStore>) {
    block_on(store.create_session(record("race", "u", 0))).unwrap();
    let outcomes: Vec<ConsumeOutcome> = race_futures(16, |_| {
        store.consume_if_current(consume("race", 0, "race-r0", 1, 0))
    })
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let winners = outcomes
        .iter()
        .filter(|o| **o == ConsumeOutcome::Rotated)
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    // Every loser presented a spent token: reuse (or, once ended, unknown).
    assert!(outcomes.iter().all(|o| matches!(
        o,
        ConsumeOutcome::Rotated | ConsumeOutcome::Reused | ConsumeOutcome::Unknown
    )));
}

#[test]
fn memory_store_conforms() {
    run_all(&|| Arc::new(MemoryStore::new()));
}

#[test]
fn file_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_all(&|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(gatepass::FileStore::open(dir.path().join(format!("j{n}"))).unwrap())
    });
}

/// A tiny deterministic generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random logins, refreshes of current, parent and older tokens with and without grace,
/// logouts and logouts-all, applied to `store` (a shared store: its scripts or SQL) and
/// to the in-process store, whose state machine is the reference: the records read back,
/// the outcomes and the revocations must agree at every one of `steps` steps.
pub(crate) fn agrees_with_the_in_process_store(store: &dyn SessionStore, steps: usize) {
    let memory = MemoryStore::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sids = ["s0", "s1", "s2"];
    let mut history: Vec<Vec<String>> = vec![Vec::new(); sids.len()];
    let (mut now, mut next) = (0, 0);
    for step in 0..steps {
        now += rng.below(30);
        let i = usize::try_from(rng.below(3)).unwrap();
        let sid = sids[i];
        let current = block_on(memory.session(sid)).unwrap();
        assert_eq!(
            block_on(store.session(sid)).unwrap(),
            current,
            "step {step}: records"
        );
        let sub = ["u", "v"][i % 2];
        match rng.below(40) {
            0 => {
                let ended = block_on(memory.revoke_session(sid, now + 600, EndReason::Logout));
                let got = block_on(store.revoke_session(sid, now + 600, EndReason::Logout));
                assert_eq!(got.unwrap(), ended.unwrap(), "step {step}: logout");
                continue;
            }
            1 => {
                let cutoff = SubjectCutoff::new(now, Some(now + 600));
                let mut ended = block_on(memory.revoke_subject(sub, cutoff, now + 600)).unwrap();
                let mut got = block_on(store.revoke_subject(sub, cutoff, now + 600)).unwrap();
                ended.sort();
                got.sort();
                assert_eq!(got, ended, "step {step}: logout-all");
                continue;
            }
            _ => {}
        }
        if current.is_none() || rng.below(25) == 0 {
            let fresh = SessionRecord::new(
                sid.into(),
                sub.into(),
                format!("{sid}-{next}"),
                now,
                400,
                60,
            );
            next += 1;
            history[i] = vec![fresh.refresh_jti.clone()];
            block_on(memory.create_session(fresh.clone())).unwrap();
            block_on(store.create_session(fresh)).unwrap();
            continue;
        }
        // Present the current token, its parent, or an older one, with or without grace.
        let chain = &history[i];
        let back = usize::try_from(rng.below(3)).unwrap().min(chain.len() - 1);
        let jti = chain[chain.len() - 1 - back].clone();
        let gen = u64::try_from(chain.len() - 1 - back).unwrap();
        let grace = [0, 5, 20][usize::try_from(rng.below(3)).unwrap()];
        let request = ConsumeRequest::new(
            sid.into(),
            gen,
            jti,
            now,
            format!("{sid}-{next}"),
            IssuedPair::new(format!("a{next}"), format!("r{next}"), 300),
            grace,
            now + 600,
        );
        next += 1;
        let expected = block_on(memory.consume_if_current(request.clone())).unwrap();
        let got = block_on(store.consume_if_current(request.clone())).unwrap();
        assert_eq!(got, expected, "step {step}: {request:?}");
        if expected == ConsumeOutcome::Rotated {
            history[i].push(request.next_jti.clone());
        }
        for (sid, sub) in [("s0", "u"), ("s1", "v"), ("s2", "u")] {
            let query = RevocationQuery::new("j", Some(sid), sub, now.saturating_sub(1));
            let (got, expected) = (store.revocations(), memory.revocations());
            assert_eq!(got.check(&query), expected.check(&query), "step {step}");
        }
    }
}
