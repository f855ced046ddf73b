//! The WebSocket to the relay: open, read, send, and reopen when it drops.
//!
//! Every message from the relay becomes an [`Action`] for the model. When the
//! connection closes the model is told ([`Action::Lost`]) and another attempt
//! follows after a backoff that doubles up to a cap, so a relay that restarts
//! is picked up again without a reload.

use std::{cell::RefCell, rc::Rc};

use gloo_timers::callback::Timeout;
use protocol::{Command, RelayMessage};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};
use yew::Callback;

use crate::model::Action;

/// The first retry's wait; it doubles with each failure, up to the cap.
const FIRST_RETRY_MS: u32 = 500;
const MAX_RETRY_MS: u32 = 8_000;

/// An open (or reopening) connection; closing it for good when dropped.
pub struct RelayLink {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    url: String,
    on_action: Callback<Action>,
    socket: Option<WebSocket>,
    /// Failed attempts since the last successful open.
    attempt: u32,
    handlers: Vec<Closure<dyn FnMut(Event)>>,
    retry: Option<Timeout>,
    stopped: bool,
}

impl RelayLink {
    pub fn open(url: String, on_action: Callback<Action>) -> RelayLink {
        let inner = Rc::new(RefCell::new(Inner {
            url,
            on_action,
            socket: None,
            attempt: 0,
            handlers: Vec::new(),
            retry: None,
            stopped: false,
        }));
        connect(&inner);
        RelayLink { inner }
    }

    /// Sends a command; says why not if the connection is not open.
    pub fn send(&self, command: &Command) -> Result<(), String> {
        let inner = self.inner.borrow();
        let socket = inner
            .socket
            .as_ref()
            .filter(|s| s.ready_state() == WebSocket::OPEN)
            .ok_or("not connected to the relay")?;
        let text = serde_json::to_string(command).map_err(|e| e.to_string())?;
        socket
            .send_with_str(&text)
            .map_err(|_| "the relay connection refused the message".to_owned())
    }
}

impl Drop for RelayLink {
    fn drop(&mut self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = true;
        inner.retry = None;
        if let Some(socket) = inner.socket.take() {
            let _ = socket.close();
        }
    }
}

fn connect(inner: &Rc<RefCell<Inner>>) {
    let (url, on_action, attempt) = {
        let i = inner.borrow();
        if i.stopped {
            return;
        }
        (i.url.clone(), i.on_action.clone(), i.attempt)
    };
    on_action.emit(Action::Connecting { attempt });
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => {
            lost(inner, format!("{url} is not a WebSocket URL"));
            return;
        }
    };

    let on_open = {
        let inner = inner.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| inner.borrow_mut().attempt = 0)
    };
    let on_message = {
        let on_action = on_action.clone();
        Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                on_action.emit(Action::Garbled(
                    "the relay sent a frame that is not text".into(),
                ));
                return;
            };
            match serde_json::from_str::<RelayMessage>(&text) {
                Ok(message) => on_action.emit(Action::Received(Box::new(message))),
                Err(err) => on_action.emit(Action::Garbled(format!(
                    "the relay sent a message this page cannot read ({err}); is the page older than the relay?"
                ))),
            }
        })
    };
    let on_close = {
        let inner = inner.clone();
        Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let reason = match event.dyn_ref::<CloseEvent>() {
                Some(close) if !close.reason().is_empty() => {
                    format!("closed ({}): {}", close.code(), close.reason())
                }
                Some(close) => format!("closed ({})", close.code()),
                None => "closed".to_owned(),
            };
            lost(&inner, reason);
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

    let mut i = inner.borrow_mut();
    i.socket = Some(socket);
    i.handlers = vec![on_open, on_message, on_close];
}

/// The connection is gone: say so, and try again after the backoff.
fn lost(inner: &Rc<RefCell<Inner>>, reason: String) {
    let (on_action, attempt) = {
        let mut i = inner.borrow_mut();
        if i.stopped {
            return;
        }
        i.socket = None;
        i.attempt += 1;
        (i.on_action.clone(), i.attempt)
    };
    let retry_ms = FIRST_RETRY_MS
        .saturating_mul(1 << (attempt - 1).min(8))
        .min(MAX_RETRY_MS);
    on_action.emit(Action::Lost {
        attempt,
        retry_ms,
        reason,
    });
    let again = inner.clone();
    let timeout = Timeout::new(retry_ms, move || connect(&again));
    inner.borrow_mut().retry = Some(timeout);
}
