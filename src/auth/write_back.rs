//! Session writes that a request causes (a refreshed last-seen time, an expired session's
//! deletion) leave the request's thread: they are queued to one write-back thread, which
//! commits everything queued together in one transaction (durable only when it deletes). The
//! server stops it at shutdown and waits for it, so it never holds the file after the server.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use crate::store::{AccountStore, SessionRecord};

/// One queued session write.
pub(super) enum SessionWrite {
    /// Store the session's record (its last-seen time changed); not durable on its own.
    Touch([u8; 32], SessionRecord),
    /// Delete the session (it expired); durable.
    Delete([u8; 32]),
}

/// The queue to the write-back thread, and the thread.
pub(super) struct WriteBack {
    queue: Mutex<Option<Sender<SessionWrite>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl WriteBack {
    /// Starts the write-back thread over `store`.
    pub(super) fn start(store: Arc<dyn AccountStore>) -> std::io::Result<Self> {
        let (queue, received) = channel();
        let thread = std::thread::Builder::new()
            .name("rollbook-sessions".to_owned())
            .spawn(move || run(store.as_ref(), &received))?;
        Ok(Self {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues a write; never blocks on the store.
    pub(super) fn send(&self, write: SessionWrite) {
        let queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = queue.as_ref().is_some_and(|q| q.send(write).is_ok());
        if !sent {
            tracing::debug!("session write after the write-back stopped: dropped");
        }
    }

    /// Commits what is queued and stops the thread; waits for it. Blocking.
    pub(super) fn stop(&self) {
        drop(
            self.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("session write-back thread panicked");
            }
        }
    }
}

/// Takes a write, then everything queued behind it, and commits them in one transaction.
fn run(store: &dyn AccountStore, received: &Receiver<SessionWrite>) {
    while let Ok(first) = received.recv() {
        let mut touched = Vec::new();
        let mut deleted = Vec::new();
        for write in std::iter::once(first).chain(received.try_iter()) {
            match write {
                SessionWrite::Touch(key, record) => touched.push((key, record)),
                SessionWrite::Delete(key) => {
                    touched.retain(|(k, _)| *k != key);
                    deleted.push(key);
                }
            }
        }
        if let Err(e) = store.write_sessions(&touched, &deleted) {
            tracing::warn!(error = %e, "could not write sessions back");
        }
    }
}
