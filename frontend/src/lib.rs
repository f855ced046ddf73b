//! The tcpstep visualiser, a Yew app compiled to wasm.
//!
//! [`model`] is plain Rust: relay messages in, view state out, tested
//! natively. The components draw a [`model::View`] and send commands;
//! `relay_link` keeps the WebSocket to the relay open, reconnecting with
//! backoff, and `url` reads the page's parameters.

pub mod app;
mod batch;
mod components;
mod known_sessions;
pub mod model;
mod relay_link;
mod url;
