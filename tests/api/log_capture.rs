//! The test binary's one global `tracing` subscriber. Every event becomes a line
//! `"<target> <LEVEL> field=value ..."`, kept in a process-wide list (tests tell theirs apart
//! by a unique value in the line, e.g. their server's URL) and, for threads that asked, in a
//! thread-local list too.
//!
//! It is global rather than `set_default` because a thread-scoped subscriber makes tracing
//! cache a callsite's interest from whichever thread hits it first, so a callsite first
//! reached by a parallel test would stay disabled for the others.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

thread_local! {
    static THREAD: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

struct Capture;

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(format!("{} {}", meta.target(), meta.level()));
        event.record(&mut line);
        THREAD.with(|thread| {
            if let Some(lines) = thread.borrow_mut().as_mut() {
                lines.push(line.0.clone());
            }
        });
        LINES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Install the subscriber (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing::subscriber::set_global_default(Capture)
            .expect("log_capture must be the only global subscriber in the test binary");
    });
}

/// Every line so far, from any thread, containing `needle`.
pub fn matching(needle: &str) -> Vec<String> {
    LINES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|l| l.contains(needle))
        .cloned()
        .collect()
}

/// Start keeping this thread's events (and forget what it kept before).
pub fn capture_on_this_thread() {
    install();
    THREAD.with(|thread| *thread.borrow_mut() = Some(Vec::new()));
}

/// This thread's events since [`capture_on_this_thread`], and stop keeping them.
pub fn take_thread_events() -> Vec<String> {
    THREAD.with(|thread| thread.borrow_mut().take().unwrap_or_default())
}
