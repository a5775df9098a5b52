//! Where a request came from, as the use cases record it: in audit events, and in the key of the
//! failed-authentication limit. The HTTP edge reads it from the request (`writ_http::RequestOrigin`).

use std::net::IpAddr;

use writ_core::AuditEvent;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The caller's address: the TCP peer.
    pub ip: Option<IpAddr>,
    /// The `X-Request-Id` the request carried, to find it in other logs.
    pub request_id: Option<String>,
    // A client certificate (RFC 8705 mutual TLS) would be carried here too, when a listener asks for one.
}

impl Origin {
    /// `event`, stamped with where its request came from.
    pub fn stamp(&self, mut event: AuditEvent) -> AuditEvent {
        event.ip = self.ip.map(|ip| ip.to_string());
        event.request_id.clone_from(&self.request_id);
        event
    }
}
