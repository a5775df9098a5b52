//! Who calls an admin use case: the actor its audit events name, the tenant its token is bound to
//! (an org client's token sees one org; the operator's sees all), the scopes its token holds, and
//! where the request came from. The HTTP edge builds one from a verified token
//! (`writ_http::Authorized`); the rules that depend on the caller are checked here, once.

use writ_core::{Actor, AuditEvent, OrgId, ScopeSet};
use writ_store::Tenant;

use crate::error::AppError;
use crate::origin::Origin;

#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub tenant: Tenant,
    /// The scopes of the caller's token.
    pub scopes: ScopeSet,
    pub origin: Origin,
}

impl Caller {
    /// `NotFound` unless the caller may act on `org_id`: a tenant never learns whether another
    /// tenant's objects exist.
    pub fn ensure_org(&self, org_id: &OrgId) -> Result<(), AppError> {
        match &self.tenant {
            Tenant::Operator => Ok(()),
            Tenant::Org(own) if own == org_id => Ok(()),
            Tenant::Org(_) => Err(AppError::not_found()),
        }
    }

    /// Only the operator (a token without `oid`) may do this.
    pub fn require_operator(&self) -> Result<(), AppError> {
        match self.tenant {
            Tenant::Operator => Ok(()),
            Tenant::Org(_) => Err(AppError::forbidden("only the operator may do this")),
        }
    }

    /// An audit event by this caller, stamped with where its request came from.
    pub fn event(&self, org: Option<OrgId>, action: &str, target: Option<String>) -> AuditEvent {
        self.origin.stamp(AuditEvent::new(self.actor.clone(), org, action, target))
    }
}
