//! Integration tests of the all-in-one Writ over real sockets: one test binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod browser;
mod cli;
mod cluster;
mod conformance;
mod delegation;
mod e2e;
mod federation;
mod fetch;
mod guard;
mod instances;
mod interop;
mod issuer;
mod keys;
mod layers;
mod limits;
mod openapi;
mod outage;
mod people;
mod private_key_jwt;
mod security;
mod services;
mod storage;
mod tenancy;
mod token;
