//! A faithful offline simulator of the Lumos REST API.
//!
//! Every operation of the official catalog answers at its real path with its real success
//! status and response shape, backed by a seeded synthetic organization held in memory.
//! Requests are routed through the same catalog the client uses, so query parameters are
//! validated the way FastAPI does (422 with `detail` lists).

mod body_check;
mod handlers;
mod ids;
mod lifecycle;
mod names;
mod org;
mod render;
mod routes;
mod server;
mod time;
mod wire;

pub use org::OrgSize;
pub use server::{DEFAULT_TOKEN, SimConfig, Simulator, USER_TOKEN};
