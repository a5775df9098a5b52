//! One connection type for standalone Redis and Redis Cluster, so the store and the change bus
//! do not care which one a deployment runs. Both reconnect by themselves.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// Where Redis is: one URL, or with `cluster`, comma-separated seed nodes of a Redis Cluster
/// (any one that answers is enough to find the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisTarget {
    pub urls: String,
    pub cluster: bool,
}

impl RedisTarget {
    pub fn new(urls: &str, cluster: bool) -> Self {
        Self { urls: urls.to_owned(), cluster }
    }

    /// The URLs, one per node.
    pub fn nodes(&self) -> Vec<&str> {
        self.urls.split(',').map(str::trim).filter(|u| !u.is_empty()).collect()
    }

    /// Connects; commands time out after `response_timeout`.
    pub async fn connect(&self, response_timeout: Duration) -> RedisResult<RedisConn> {
        let connect_timeout = Duration::from_secs(2);
        if self.cluster {
            let client = redis::cluster::ClusterClientBuilder::new(self.nodes())
                .connection_timeout(connect_timeout)
                .response_timeout(response_timeout)
                .retries(2)
                .build()?;
            return Ok(RedisConn::Cluster(client.get_async_connection().await?));
        }
        let client = redis::Client::open(self.urls.trim())?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(response_timeout));
        Ok(RedisConn::Single(ConnectionManager::new_with_config(client, config).await?))
    }
}

/// A connection to standalone Redis or to a Redis Cluster; cheap to clone.
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}
