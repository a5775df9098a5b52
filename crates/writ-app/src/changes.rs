//! Change events: an admin change is applied to this process's caches at once and, with Redis
//! configured, published so every other instance applies it within about a second. Without Redis the
//! caches' short TTL is the safety net between processes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use writ_core::{ClientId, OrgId, ResourceId, UserId};
use writ_guard_store::{RedisConn, RedisTarget};

/// What changed. Serialized as JSON on the Redis channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Change {
    Client(ClientId),
    Org(OrgId),
    User(UserId),
    Resource(ResourceId),
    /// Signing keys changed state: reload the key ring.
    Keys,
    /// Something was missed (a Redis reconnect): drop every cached value.
    All,
}

/// Applies a change to this process (the cache, the key ring).
pub type Apply = Arc<dyn Fn(Change) + Send + Sync>;

/// Where a use case announces a change it committed: a server's [`crate::Context`] applies it to
/// its own caches at once and tells the other instances; a bare [`crate::Deployment`] (the CLI)
/// only tells them.
pub trait Publish: Sync {
    fn publish(&self, change: Change) -> impl Future<Output = ()> + Send;
}

/// Publishes changes to the other instances.
#[derive(Clone)]
pub struct ChangeBus {
    redis: Option<(RedisConn, String)>,
    /// The Redis nodes to subscribe on.
    nodes: Vec<String>,
}

impl std::fmt::Debug for ChangeBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeBus").field("redis", &self.redis.is_some()).finish()
    }
}

impl ChangeBus {
    /// In this process only.
    pub fn local() -> Self {
        Self { redis: None, nodes: Vec::new() }
    }

    /// Over Redis pub/sub on `{prefix}changes`, publishing only (what a CLI command needs).
    pub async fn redis(target: &RedisTarget, prefix: &str) -> Result<Self, redis::RedisError> {
        let conn = target.connect(Duration::from_secs(2)).await?;
        let nodes = target.nodes().into_iter().map(str::to_owned).collect();
        Ok(Self { redis: Some((conn, format!("{prefix}changes"))), nodes })
    }

    /// Follows the changes of every instance (this one included): spawns a subscriber that calls
    /// `apply` for each, and `apply(Change::All)` after each (re)subscription, since messages sent
    /// while it was away are lost. On a Redis Cluster a message published on any node reaches every
    /// node, so the subscriber listens on one node, and on the next one when that one goes away.
    /// `following` is true exactly while subscribed. Without Redis there is nothing to follow.
    pub fn follow(&self, apply: Apply, following: Arc<AtomicBool>) -> Result<(), redis::RedisError> {
        let Some((_, channel)) = &self.redis else { return Ok(()) };
        let nodes =
            self.nodes.iter().map(|n| redis::Client::open(n.as_str())).collect::<Result<Vec<_>, _>>()?;
        tokio::spawn(subscribe(nodes, channel.clone(), apply, following));
        Ok(())
    }

    /// Whether Redis answers; `None` without Redis.
    pub async fn ping(&self) -> Option<bool> {
        let (conn, _) = self.redis.as_ref()?;
        let mut conn = conn.clone();
        let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
        Some(pong.is_ok())
    }

    /// Sends `change` to the other instances. A failure is logged: the caches' TTL still bounds how
    /// long a stale value can live.
    pub async fn send(&self, change: &Change) {
        let Some((conn, channel)) = &self.redis else {
            return;
        };
        let Ok(payload) = serde_json::to_string(change) else {
            return;
        };
        let mut conn = conn.clone();
        let sent: Result<i64, _> =
            redis::cmd("PUBLISH").arg(channel).arg(payload).query_async(&mut conn).await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "could not publish a change event; other instances will catch up by TTL");
        }
    }
}

async fn subscribe(nodes: Vec<redis::Client>, channel: String, apply: Apply, following: Arc<AtomicBool>) {
    let mut backoff = Duration::from_millis(100);
    let mut subscribed_before = false;
    for client in nodes.iter().cycle() {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    if subscribed_before {
                        tracing::info!("change events: resubscribed to Redis");
                    }
                    // What changed before this subscription may have been missed.
                    apply(Change::All);
                    following.store(true, Ordering::Relaxed);
                    subscribed_before = true;
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        match serde_json::from_slice::<Change>(msg.get_payload_bytes()) {
                            Ok(change) => apply(change),
                            Err(e) => tracing::warn!(error = %e, "ignoring a malformed change event"),
                        }
                    }
                    following.store(false, Ordering::Relaxed);
                    tracing::warn!("change events: lost the Redis subscription");
                }
                Err(e) => tracing::warn!(error = %e, "change events: cannot subscribe"),
            },
            Err(e) => tracing::warn!(error = %e, "change events: Redis unreachable"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
