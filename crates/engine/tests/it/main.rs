//! The engine against the simulator over HTTP, on SQLite and PostgreSQL.

mod connections;
