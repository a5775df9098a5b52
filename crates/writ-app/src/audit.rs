//! The batched audit writer (docs/tokens.md, "The hot path"): the token endpoint hands it issuance
//! records and secret-use times and never waits for the database. Records are written in batches,
//! each gathered for at most 20 ms and as large as the database keeps up with. A secret's
//! `last_used_at` is written at most once a minute (it is accurate to [`USE_RESOLUTION`]), in one
//! statement per batch. A full queue or a failed write drops records, and every dropped record is
//! counted (`/metrics`), never silent.

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
/// How long a batch may gather after its first record: under load the writer wakes and commits
/// once per this interval instead of once per record.
const LINGER: Duration = Duration::from_millis(20);
/// How stale a secret's `last_used_at` may be. 20,000 clients busy at once then cost ~330 updates a
/// second instead of one per token; a secret's first use is written at once.
pub const USE_RESOLUTION: time::Duration = time::Duration::minutes(1);

enum Msg {
    /// An event, and the secret whose `last_used_at` it moves forward, if any.
    Event(Box<AuditEvent>, Option<SecretId>),
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
    /// Starts the writer on a pool of its own. Its connections are opened by the writer task on the
    /// runtime that starts it (the process's main runtime), so they stay usable at shutdown, after
    /// the HTTP workers' runtimes — which opened the shared pool's connections — are gone.
    pub async fn start(database_url: &str) -> Result<Self, writ_store::StoreError> {
        Ok(Self::with_store(Store::connect_with(database_url, 2).await?))
    }

    /// Starts the writer on `store`.
    pub fn with_store(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(store, rx, dropped.clone(), written.clone()));
        Self { tx, dropped, written, task: Mutex::new(Some(task)) }
    }

    /// Queues an event without waiting.
    pub fn record(&self, event: AuditEvent) {
        self.offer(Msg::Event(Box::new(event), None));
    }

    /// Queues an event that used `secret` (token issuance): one message records both the event
    /// and the secret's `last_used_at` (the event's time).
    pub fn record_secret_use(&self, event: AuditEvent, secret: SecretId) {
        self.offer(Msg::Event(Box::new(event), Some(secret)));
    }

    fn offer(&self, msg: Msg) {
        if self.tx.try_send(msg).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "audit queue full or closed: records dropped");
            }
        }
    }

    /// Records waiting to be written.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
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
    let mut use_times = UseTimes::default();
    let mut acks = Vec::new();
    while let Some(first) = rx.recv().await {
        if matches!(first, Msg::Event(..)) && rx.len() < BATCH {
            tokio::time::sleep(LINGER).await;
        }
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Event(e, secret) => {
                    if let Some(id) = secret {
                        let slot = used.entry(id).or_insert(e.occurred_at);
                        *slot = (*slot).max(e.occurred_at);
                    }
                    events.push(*e);
                }
                Msg::Flush(ack) => acks.push(ack),
            }
            if events.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        let touched = use_times.due(used.drain());
        if write(&store, &events, &touched).await {
            use_times.written(&touched);
            written.fetch_add(events.len() as u64, Ordering::Relaxed);
        } else {
            dropped.fetch_add(events.len() as u64, Ordering::Relaxed);
        }
        events.clear();
        for ack in acks.drain(..) {
            let _ = ack.send(());
        }
    }
}

/// When each secret's use was last written, for the secrets used within [`USE_RESOLUTION`].
#[derive(Default)]
struct UseTimes {
    written: HashMap<SecretId, OffsetDateTime>,
    pruned: Option<OffsetDateTime>,
}

impl UseTimes {
    /// The uses worth writing: a secret's first, or one at least [`USE_RESOLUTION`] after the use
    /// last written.
    fn due(&self, used: impl Iterator<Item = (SecretId, OffsetDateTime)>) -> Vec<(SecretId, OffsetDateTime)> {
        used.filter(|(id, at)| self.written.get(id).is_none_or(|last| *at - *last >= USE_RESOLUTION))
            .collect()
    }

    /// Notes uses as written; forgets, once a minute, those too old to hold a later one back.
    fn written(&mut self, uses: &[(SecretId, OffsetDateTime)]) {
        for (id, at) in uses {
            self.written.insert(id.clone(), *at);
        }
        let now = writ_core::now();
        if self.pruned.is_none_or(|at| now - at >= USE_RESOLUTION) {
            self.written.retain(|_, at| now - *at < USE_RESOLUTION);
            self.pruned = Some(now);
        }
    }
}

/// Writes a batch in one transaction — one commit (one fsync) per batch, and a failed attempt
/// leaves nothing behind to collide with its retry — retrying twice; `false` if it could not be
/// written.
async fn write(store: &Store, events: &[AuditEvent], used: &[(SecretId, OffsetDateTime)]) -> bool {
    for attempt in 0..3 {
        let result = async {
            let txn = store.begin().await?;
            Audit::new(&txn).record_many(events).await?;
            writ_store::touch_secrets(&txn, used).await?;
            txn.commit().await.map_err(writ_store::StoreError::from)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_use_is_written_at_most_once_a_minute() {
        let mut times = UseTimes::default();
        let (a, b) = (SecretId::generate(), SecretId::generate());
        let t0 = writ_core::now();
        let first = times.due([(a.clone(), t0)].into_iter());
        assert_eq!(first, vec![(a.clone(), t0)], "a first use is written at once");
        times.written(&first);

        let soon = t0 + time::Duration::seconds(59);
        let due = times.due([(a.clone(), soon), (b.clone(), soon)].into_iter());
        assert_eq!(due, vec![(b.clone(), soon)], "a's use within the minute waits; b's first does not");
        times.written(&due);

        let later = t0 + USE_RESOLUTION;
        assert_eq!(times.due([(a.clone(), later)].into_iter()), vec![(a, later)]);
        assert!(times.due([(b, later)].into_iter()).is_empty());
    }
}
