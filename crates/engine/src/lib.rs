//! lumosflow's runtime: Lumos connections now; workflows and runs build on them.
//!
//! Interfaces (CLI, HTTP, MCP) call into this crate; it calls `lumos-api` for Lumos and
//! `store` for persistence, and never knows which interface asked.

pub mod connections;
