//! What the tcpstep relay and the visualiser share.
//!
//! The relay (native) and the frontend (wasm) both depend on this crate, so it
//! holds nothing that ties it to one target: no tokio, no web-sys. Today it
//! names the classic pair's fixed parameters; the event and command types that
//! travel over the WebSocket live here too as they are added, so that the two
//! sides cannot disagree about them.

pub mod classic;
