//! Agents acting for people (docs/delegation.md): the authorization request (`authorize.rs`),
//! the person's consent (`consent.rs`), the tokens a code and a refresh token give
//! (`tokens.rs`), the consents people and admins list and withdraw (`consents.rs`), the clients
//! known by their metadata documents (`url_clients.rs`), the clients that register themselves
//! (`registration.rs`), and the persons' tokens an org's IdP grants (`id_jag.rs`).

pub mod authorize;
pub mod consent;
pub mod consents;
pub mod device;
pub mod id_jag;
pub mod registration;
pub mod tokens;
pub mod url_clients;
