//! Each rejection is a tracing event with its kind, and never the token.

use super::*;

fn capture_events_on_this_thread() {
    crate::log_capture::capture_on_this_thread();
}

fn captured_events() -> Vec<String> {
    crate::log_capture::take_thread_events()
}

#[tokio::test]
async fn each_rejection_is_an_event_with_its_kind_and_never_the_token() {
    // The test's current-thread runtime runs the server on this thread too.
    capture_events_on_this_thread();
    let fixture = Fixture::new();
    let addr = serve(&fixture).await;
    let expired = expired_token();
    let refresh = refresh_token(&fixture);
    request(addr, "/me", &[&bearer(&expired)]).await;
    request(addr, "/me", &[&bearer(&refresh)]).await;
    request(addr, "/me", &["Authorization: Bearer a b"]).await;
    request(addr, "/me", &[]).await;
    request(addr, "/me", &[&bearer(&valid_token(&fixture))]).await;

    let events: Vec<String> = captured_events()
        .into_iter()
        .filter(|e| e.starts_with("gatepass::http "))
        .collect();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(events[0].contains("kind=\"expired\""), "{events:#?}");
    assert!(events[1].contains("kind=\"wrong_type\""), "{events:#?}");
    assert!(
        events[2].contains("kind=\"invalid_request\""),
        "{events:#?}"
    );
    assert!(
        events[2].contains("reason=\"trailing_data\""),
        "{events:#?}"
    );
    assert!(
        events[3].contains("kind=\"missing_credentials\""),
        "{events:#?}"
    );
    for event in &events {
        for token in [&expired, &refresh] {
            for part in token.split('.') {
                assert!(!event.contains(part), "{event}");
            }
        }
    }
}
