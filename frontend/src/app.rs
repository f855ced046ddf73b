//! The root component: connects to the relay (or opens the trace the URL
//! names), keeps the model, lays out the panels: all of them, or, embedded
//! in a course page (`embed=1`), the ladder, the sockets, the step controls
//! and what happened.

use std::{
    cell::{Ref, RefCell},
    rc::Rc,
};

use gloo_events::EventListener;
use protocol::{Command, Mode};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::{
    components::{
        controls::Controls, expert::ExpertPanel, inspector::Inspector, ladder::Ladder,
        predict::Predict, recv_all::RecvAllPanel, rooms::SessionBar, sockets::SocketsBoard,
        source::SourcePanel, status::StatusBar, stream::StreamPanel, tcp_states::TcpStates,
        terminal::Terminal, timeline::Timeline,
    },
    model::{Action, Model, Source},
    relay_link::RelayLink,
    url::{trace_name, trace_url, Params},
};

/// How often the page asks the relay which of its sessions run, and how
/// many watch each.
const ROOMS_EVERY_MS: u32 = 10_000;

/// The model as the page holds it: one model, changed in place by each
/// action, and a version that counts the changes. (Copying the model per
/// action, as a purer reducer would, costs a copy of every event so far
/// for each new one: quadratic, and a crowd's 70,000 events stall it.)
struct State {
    model: Rc<RefCell<Model>>,
    version: u64,
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        self.model.borrow_mut().apply(action);
        Rc::new(State {
            model: self.model.clone(),
            version: self.version + 1,
        })
    }
}

/// The model as components receive it: compared by version, so that a
/// component draws again exactly when the model has changed, and no render
/// compares whole sessions.
#[derive(Clone)]
pub struct Snapshot {
    model: Rc<RefCell<Model>>,
    version: u64,
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && Rc::ptr_eq(&self.model, &other.model)
    }
}

impl Snapshot {
    /// The model, to read while drawing. Actions are applied between
    /// renders (Yew queues dispatches), never during one.
    pub fn get(&self) -> Ref<'_, Model> {
        self.model.borrow()
    }
}

fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn page_params() -> Params {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let mut params = Params::parse(&page_origin(), &search);
    // The presenter's key, taken out of the address bar once the relay had
    // it, is kept for this tab.
    if params.key.is_none() {
        params.key = crate::known_sessions::presenter_key();
    }
    params
}

/// Opens the trace `trace=` names, through the same action as "Open
/// trace…": fetched from this page's origin only, or refused with why.
fn open_trace_from_url(raw: &str, act: Callback<Action>) {
    let url = match trace_url(&page_origin(), raw) {
        Ok(url) => url,
        Err(why) => return act.emit(Action::Garbled(why)),
    };
    wasm_bindgen_futures::spawn_local(async move {
        match fetch_text(&url).await {
            Ok(text) => act.emit(Action::OpenTrace {
                name: trace_name(&url),
                text,
            }),
            Err(why) => act.emit(Action::Garbled(why)),
        }
    });
}

/// The text at `url`, or what went wrong in words a course author can act on.
async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("there is no window to fetch the trace in")?;
    let failed = |e: wasm_bindgen::JsValue| {
        let why = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "the request failed".to_owned());
        format!("cannot fetch the trace {url}: {why}")
    };
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| format!("fetching the trace {url} gave no response"))?;
    if !response.ok() {
        return Err(format!(
            "cannot open the trace {url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    // A redirect may have led to another origin.
    trace_url(&page_origin(), &response.url())?;
    let text = JsFuture::from(response.text().map_err(failed)?)
        .await
        .map_err(failed)?;
    text.as_string()
        .ok_or_else(|| format!("the trace {url} is not text"))
}

#[component]
pub fn App() -> Html {
    let params = use_memo((), |_| page_params());
    let state = {
        let relay_url = params.relay.clone();
        use_reducer(move || State {
            model: Rc::new(RefCell::new(Model {
                relay_url,
                ..Model::default()
            })),
            version: 0,
        })
    };
    let snapshot = Snapshot {
        model: state.model.clone(),
        version: state.version,
    };
    let model = snapshot.get();
    let link = use_mut_ref(|| None::<RelayLink>);
    let speed = use_state(|| params.speed_ms);
    let predicting = use_state(|| params.predict);

    // A trace named in the URL replaces the relay: nothing to connect to.
    {
        let link = link.clone();
        let dispatcher = state.dispatcher();
        let url = params.socket_url();
        let trace = params.trace.clone();
        use_effect_with((), move |_| {
            match trace {
                Some(trace) => open_trace_from_url(
                    &trace,
                    Callback::from(move |action| dispatcher.dispatch(action)),
                ),
                None => {
                    let batcher = crate::batch::Batcher::new(Callback::from(move |action| {
                        dispatcher.dispatch(action)
                    }));
                    let on_action = Callback::from(move |action| batcher.push(action));
                    *link.borrow_mut() = Some(RelayLink::open(url, on_action));
                }
            }
            move || drop(link.borrow_mut().take())
        });
    }

    let send = {
        let link = link.clone();
        let dispatcher = state.dispatcher();
        Callback::from(move |command: Command| {
            let sent = match link.borrow().as_ref() {
                Some(link) => link.send(&command),
                None => Err("not connected to the relay".to_owned()),
            };
            if let Err(why) = sent {
                dispatcher.dispatch(Action::Garbled(format!("cannot send: {why}")));
            }
        })
    };

    // What the URL asks for, once the relay has said hello.
    {
        let send = send.clone();
        let params = params.clone();
        let hello_session = model.hello.as_ref().map(|h| h.session.clone());
        let scenarios = model
            .hello
            .as_ref()
            .map(|h| h.scenarios.clone())
            .unwrap_or_default();
        let complain = {
            let dispatcher = state.dispatcher();
            Callback::from(move |text| dispatcher.dispatch(Action::Garbled(text)))
        };
        use_effect_with(hello_session.as_ref().map(|s| s.id), move |_| {
            if let Some(session) = hello_session {
                if let Some(name) = &params.scenario {
                    if *name != session.scenario.name {
                        // The relay's own settings for that scenario, from its hello.
                        match scenarios.iter().find(|s| &s.name == name) {
                            Some(scenario) => send.emit(Command::Reset {
                                scenario: Some(scenario.clone()),
                            }),
                            None => complain.emit(format!(
                                "the URL asks for scenario {name:?}, which this relay does not offer"
                            )),
                        }
                    }
                }
                if params.autoplay && session.mode == Mode::Paused {
                    send.emit(Command::Play {
                        interval_ms: params.speed_ms,
                    });
                }
            }
        });
    }

    // The sessions this page can join: asked for once the relay has said
    // hello, and again now and then, for how many watch each.
    {
        let send = send.clone();
        let room = model
            .hello
            .as_ref()
            .and_then(|h| h.room.as_ref())
            .map(|r| r.id.clone());
        use_effect_with(room, move |room| {
            let ask = move || {
                send.emit(Command::Rooms {
                    ids: crate::known_sessions::known(),
                })
            };
            let every = room.as_ref().map(|room| {
                if room != protocol::RoomInfo::CLASS {
                    crate::known_sessions::remember(room);
                }
                ask();
                gloo_timers::callback::Interval::new(ROOMS_EVERY_MS, ask)
            });
            move || drop(every)
        });
    }
    // Sessions that have ended are forgotten.
    use_effect_with(model.rooms.clone(), |rooms| {
        if !rooms.is_empty() {
            let ids: Vec<String> = rooms.iter().map(|r| r.id.clone()).collect();
            crate::known_sessions::keep_only(&ids);
        }
    });
    // Once a session this page opened runs, the URL only joins it; once
    // the relay has taken the presenter's key, the key leaves the URL (this
    // tab keeps it), so a shared screen or a copied link does not show it.
    let room = model.hello.as_ref().and_then(|h| h.room.clone());
    {
        let key = params.key.clone();
        use_effect_with(room, move |room| {
            let presenting = room.as_ref().is_some_and(|r| r.presenter && r.drives);
            if let (true, Some(key)) = (presenting, &key) {
                crate::known_sessions::keep_presenter_key(key);
            }
            if let (Some(_), Some(window)) = (room, web_sys::window()) {
                let location = window.location();
                let search = location.search().unwrap_or_default();
                let url = format!(
                    "{}{}",
                    location.pathname().unwrap_or_default(),
                    crate::url::without_open(&search)
                );
                if let Ok(history) = window.history() {
                    let _ = history.replace_state_with_url(
                        &wasm_bindgen::JsValue::NULL,
                        "",
                        Some(&url),
                    );
                }
            }
        });
    }

    // `step=N` in the URL opens that moment, once the session has reached
    // it (with `trace=`, once the trace is open).
    {
        let done = use_mut_ref(|| false);
        let dispatcher = state.dispatcher();
        let step = params.step;
        let ready = params.trace.is_none() || model.source != Source::Relay;
        use_effect_with((model.events.len(), ready), move |&(len, ready)| {
            if let Some(step) = step.filter(|&s| ready && s <= len && !*done.borrow()) {
                *done.borrow_mut() = true;
                dispatcher.dispatch(Action::Seek(Some(step)));
            }
        });
    }
    // The URL follows the moment shown, so a link opens the same moment.
    use_effect_with(model.scrubbed.as_ref().map(|s| s.at), |&at| {
        if let Some(window) = web_sys::window() {
            let search = window.location().search().unwrap_or_default();
            let url = format!(
                "{}{}",
                window.location().pathname().unwrap_or_default(),
                crate::url::with_step(&search, at)
            );
            if let Ok(history) = window.history() {
                let _ =
                    history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
        }
    });

    // Keyboard: space plays or pauses, → steps, R resets.
    {
        let send = send.clone();
        let playing = matches!(model.mode(), Mode::Playing { .. });
        let speed = *speed;
        // A trace has no relay to command.
        let relay = params.trace.is_none();
        use_effect_with((playing, speed, relay), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.document())
                .map(|document| {
                    EventListener::new(&document, "keydown", move |event| {
                        let Some(key) = event.dyn_ref::<KeyboardEvent>() else {
                            return;
                        };
                        if !relay
                            || key.ctrl_key()
                            || key.meta_key()
                            || key.alt_key()
                            || typing(event)
                        {
                            return;
                        }
                        let command = match key.key().as_str() {
                            " " if playing => Command::Pause,
                            " " => Command::Play { interval_ms: speed },
                            "ArrowRight" => Command::Step { actor: None },
                            "r" | "R" => Command::Reset { scenario: None },
                            _ => return,
                        };
                        event.prevent_default();
                        send.emit(command);
                    })
                });
            move || drop(listener)
        });
    }

    drop(model);
    let on_speed = {
        let speed = speed.clone();
        Callback::from(move |ms| speed.set(ms))
    };
    let act = {
        let dispatcher = state.dispatcher();
        Callback::from(move |action| dispatcher.dispatch(action))
    };
    let on_dismiss = {
        let dispatcher = state.dispatcher();
        Callback::from(move |_| dispatcher.dispatch(Action::Dismiss))
    };
    let on_predict = {
        let predicting = predicting.clone();
        Callback::from(move |on| predicting.set(on))
    };
    // A session of one's own: the page names it and goes there; the relay
    // starts it on the first connection (`open=`), of the scenario shown.
    let on_open = {
        let dispatcher = state.dispatcher();
        let scenario = snapshot
            .get()
            .session
            .as_ref()
            .map(|s| s.scenario.name.clone())
            .unwrap_or_else(|| "classic".to_owned());
        Callback::from(move |()| {
            let (Some(id), Some(window)) = (crate::known_sessions::new_id(), web_sys::window())
            else {
                dispatcher.dispatch(Action::Garbled(
                    "cannot make a session id: this browser offers no random source".into(),
                ));
                return;
            };
            crate::known_sessions::remember(&id);
            let location = window.location();
            let search = location.search().unwrap_or_default();
            let path = location.pathname().unwrap_or_default();
            let _ = location.assign(&format!(
                "{path}{}",
                crate::url::opening(&search, &id, &scenario)
            ));
        })
    };
    let (room, rooms) = {
        let model = snapshot.get();
        let room = model.hello.as_ref().and_then(|h| h.room.clone());
        (room, model.rooms.clone())
    };
    let status = match &params.trace {
        None => html! {
            <>
                <StatusBar model={snapshot.clone()} {on_dismiss} />
                if !params.embed {
                    <SessionBar {room} {rooms} {on_open} asked={params.session.clone()} />
                }
            </>
        },
        Some(_) => trace_status(&snapshot, on_dismiss),
    };
    // Stepping a relay's programs; a trace is stepped on the timeline.
    let stepping = params.trace.is_none().then(|| {
        html! {
            <>
                <Controls model={snapshot.clone()} send={send.clone()} speed={*speed} {on_speed} />
                <Predict model={snapshot.clone()} send={send.clone()} on={*predicting} on_toggle={on_predict} />
            </>
        }
    });
    if params.embed {
        return html! {
            <div class="page embed">
                { status }
                { for stepping }
                <Timeline model={snapshot.clone()} act={act.clone()} />
                <main class="panels">
                    <Ladder model={snapshot.clone()} act={act} />
                    <SocketsBoard model={snapshot} />
                </main>
            </div>
        };
    }
    html! {
        <div class="page">
            <header class="masthead">
                <h1>{ "tcpstep" }</h1>
                <p class="tagline">{ "A real TCP connection, one system call at a time." }</p>
            </header>
            { status }
            { for stepping }
            <Timeline model={snapshot.clone()} act={act.clone()} />
            <main class="panels">
                <div class="main-column">
                    <Ladder model={snapshot.clone()} act={act.clone()} />
                    <StreamPanel model={snapshot.clone()} act={act.clone()} />
                    <SourcePanel model={snapshot.clone()} />
                    <TcpStates model={snapshot.clone()} />
                </div>
                <div class="side">
                    <Inspector model={snapshot.clone()} act={act.clone()} />
                    <ExpertPanel model={snapshot.clone()} act={act.clone()} />
                    <SocketsBoard model={snapshot.clone()} />
                    <RecvAllPanel model={snapshot.clone()} />
                    <Terminal model={snapshot} />
                </div>
            </main>
        </div>
    }
}

/// In place of the relay's status line, for a trace named in the URL:
/// which trace, and anything that went wrong opening it.
fn trace_status(snapshot: &Snapshot, on_dismiss: Callback<()>) -> Html {
    let model = snapshot.get();
    let text = match &model.source {
        Source::Trace { name } => format!("Trace {name}: step through it on the timeline"),
        Source::Relay if model.notice.is_some() => "The trace did not open".to_owned(),
        Source::Relay => "Opening the trace…".to_owned(),
    };
    let notice = crate::components::notice_html(model.notice.as_ref(), &on_dismiss);
    html! {
        <section class="status" aria-label="Trace">
            <div class="status-line">
                <span class="link trace" role="status" aria-live="polite">{ text }</span>
            </div>
            { notice }
        </section>
    }
}

/// Whether a key press is someone typing in a form field.
fn typing(event: &web_sys::Event) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"))
}
