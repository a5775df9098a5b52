//! The batched audit writer (DESIGN.md §4): the token endpoint hands it issuance records and
//! secret-use times and never waits for the database. Records are written in batches as fast as the
//! database takes them; `last_used_at` updates are coalesced per secret within a batch. A full queue
//! or a failed write drops records, and every dropped record is counted (`/metrics`), never silent.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc, oneshot};
use writ_core::{AuditEvent, SecretId};
use writ_store::{Audit, Store};

const QUEUE: usize = 65_536;
const BATCH: usize = 1_024;

enum Msg {
    Event(Box<AuditEvent>),
    SecretUsed(SecretId, OffsetDateTime),
    Flush(oneshot::Sender<()>),
}

pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter").field("dropped", &self.dropped()).finish()
    }
}

impl AuditWriter {
    pub fn start(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(store, rx, dropped.clone(), written.clone()));
        Self { tx, dropped, written, task: Mutex::new(Some(task)) }
    }

    /// Queues an event without waiting.
    pub fn record(&self, event: AuditEvent) {
        self.offer(Msg::Event(Box::new(event)));
    }

    /// Queues a secret's use without waiting.
    pub fn secret_used(&self, id: SecretId, at: OffsetDateTime) {
        self.offer(Msg::SecretUsed(id, at));
    }

    fn offer(&self, msg: Msg) {
        if self.tx.try_send(msg).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit queue full or closed: records dropped");
            }
        }
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Waits until everything queued before this call is written.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Writes what is queued and stops the writer (at shutdown).
    pub async fn shutdown(&self) {
        self.flush().await;
        if let Some(task) = self.task.lock().await.take() {
            task.abort();
            // Once the task is gone its queue is closed: later records count as dropped.
            let _ = task.await;
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Msg>, dropped: Arc<AtomicU64>, written: Arc<AtomicU64>) {
    let mut events = Vec::with_capacity(BATCH);
    let mut used: HashMap<SecretId, OffsetDateTime> = HashMap::new();
    let mut acks = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Event(e) => events.push(*e),
                Msg::SecretUsed(id, at) => {
                    let slot = used.entry(id).or_insert(at);
                    *slot = (*slot).max(at);
                }
                Msg::Flush(ack) => acks.push(ack),
            }
            if events.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let touched: Vec<_> = used.drain().collect();
        if write(&store, &events, &touched).await {
            written.fetch_add(events.len() as u64, Ordering::Relaxed);
        } else {
            dropped.fetch_add((events.len() + touched.len()) as u64, Ordering::Relaxed);
        }
        events.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// Writes a batch, retrying twice; `false` if it could not be written.
async fn write(store: &Store, events: &[AuditEvent], used: &[(SecretId, OffsetDateTime)]) -> bool {
    for attempt in 0..3 {
        let result = async {
            Audit::new(store.conn()).record_many(events).await?;
            writ_store::touch_secrets(store.conn(), used).await
        }
        .await;
        match result {
            Ok(()) => return true,
            Err(e) => {
                tracing::error!(error = %e, attempt, records = events.len(), "audit batch write failed");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    false
}
