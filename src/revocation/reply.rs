//! A one-shot answer from the journal writer thread to the caller waiting for it, and a
//! blocking wait for callers outside an async runtime (the CLI, the fuzz targets).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use super::store::StoreError;

struct State<T> {
    value: Option<Result<T, StoreError>>,
    waker: Option<Waker>,
}

struct Slot<T> {
    state: Mutex<State<T>>,
}

impl<T> Slot<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fill(&self, value: Result<T, StoreError>) {
        let waker = {
            let mut state = self.state();
            state.value = Some(value);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The writer's end: answered exactly once. Dropped unanswered (the writer stopped), it
/// answers with an error, so no caller waits forever.
pub(crate) struct Reply<T>(Option<Arc<Slot<T>>>);

impl<T> Reply<T> {
    pub(crate) fn send(mut self, value: Result<T, StoreError>) {
        if let Some(slot) = self.0.take() {
            slot.fill(value);
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.fill(Err(StoreError::Io(
                "the journal writer stopped before answering".into(),
            )));
        }
    }
}

/// The caller's end: a future of the answer.
pub(crate) struct Answer<T>(Arc<Slot<T>>);

impl<T> Future for Answer<T> {
    type Output = Result<T, StoreError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.state();
        match state.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A reply slot and the future that waits on it.
pub(crate) fn channel<T>() -> (Reply<T>, Answer<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(State {
            value: None,
            waker: None,
        }),
    });
    (Reply(Some(slot.clone())), Answer(slot))
}

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Run `future` to completion on this thread, parking it while the future waits.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
            return value;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_sent_from_another_thread_wakes_the_waiter() {
        let (reply, answer) = channel::<u32>();
        let sender = std::thread::spawn(move || reply.send(Ok(7)));
        assert_eq!(block_on(answer), Ok(7));
        sender.join().unwrap();
    }

    #[test]
    fn a_reply_dropped_unanswered_is_an_error_not_a_hang() {
        let (reply, answer) = channel::<u32>();
        drop(reply);
        assert!(matches!(block_on(answer), Err(StoreError::Io(_))));
    }
}
