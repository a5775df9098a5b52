//! The audit log, as the admin API lists it: who did what, when, from where. A tenant admin sees
//! its own org's events only.

use writ_core::AuditEvent;
use writ_store::{Audit, AuditFilter, Page, Paged};

use crate::caller::Caller;
use crate::context::Context;
use crate::error::AppError;

pub async fn list(
    ctx: &Context,
    caller: &Caller,
    page: &Page,
    filter: &AuditFilter,
) -> Result<Paged<AuditEvent>, AppError> {
    Ok(Audit::new(ctx.store.conn()).list(&caller.tenant, page, filter).await?)
}
