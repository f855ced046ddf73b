//! The tcpstep visualiser, a Yew app compiled to wasm.
//!
//! `app` is the root component. The page grows into the live view of a relay
//! session: a pure model (events in, view state out, tested natively) and the
//! small components that draw it.

pub mod app;
