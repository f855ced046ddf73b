//! Step, play, pause, reset: each button says why when it cannot be used.

use protocol::{Actor, Call, Command, Mode};
use wasm_bindgen::JsCast;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use super::{call_text, scenario_form::ScenarioForm};
use crate::app::Snapshot;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub send: Callback<Command>,
    /// The play interval, in milliseconds.
    pub speed: u64,
    pub on_speed: Callback<u64>,
}

/// Play intervals on offer, in milliseconds.
const SPEEDS: &[(u64, &str)] = &[
    (1500, "slow"),
    (600, "normal"),
    (250, "fast"),
    (60, "very fast"),
];

#[component]
pub fn Controls(props: &Props) -> Html {
    let model = props.model.get();
    let live = model.is_live();
    let waiting = model.view.waiting();
    let playing = matches!(model.mode(), Mode::Playing { .. });
    let offline = (!live).then_some("Not connected to the relay");

    let next = waiting
        .first()
        .map(|(actor, call)| format!("{actor}: {}", call_text(call)));
    let step_all_reason = offline.map(str::to_owned).or_else(|| {
        waiting.is_empty().then(|| {
            "No program is waiting for a step: each is asleep in the kernel or has ended".to_owned()
        })
    });

    let button = |label: String, title: String, disabled: Option<String>, command: Command| {
        let send = props.send.clone();
        let onclick = Callback::from(move |_: MouseEvent| send.emit(command.clone()));
        let title = disabled.clone().unwrap_or(title);
        html! {
            <button {onclick} disabled={disabled.is_some()} title={title.clone()} aria-label={format!("{label}: {title}")}>
                { label }
            </button>
        }
    };

    // One button per program, so a person can choose who goes next; in a
    // crowd, the server and the clients next in line.
    let in_line: std::collections::HashMap<Actor, &Call> = waiting.iter().copied().collect();
    let mut actors: Vec<Actor> = waiting
        .iter()
        .map(|(a, _)| *a)
        .chain(model.view.actors.keys().copied())
        .filter(|a| matches!(a, Actor::Client(_)))
        .collect();
    let mut seen = std::collections::HashSet::new();
    actors.retain(|a| seen.insert(*a));
    let clients = actors.len();
    actors.truncate(super::MOST_SHOWN - 1);
    let more_clients = clients - actors.len();
    if model.view.actors.contains_key(&Actor::Server) {
        actors.push(Actor::Server);
    }
    actors.sort();
    let per_actor = actors.into_iter().map(|actor| {
        let call = in_line.get(&actor).copied();
        let disabled = offline.map(str::to_owned).or_else(|| {
            call.is_none().then(|| {
                format!("The {actor} is not waiting for a step: it is asleep in the kernel or has ended")
            })
        });
        let title = call.map_or_else(String::new, |c| format!("Release the {actor}'s {}", call_text(c)));
        button(
            format!("Step {actor}"),
            title,
            disabled,
            Command::Step { actor: Some(actor) },
        )
    });

    let play_pause = if playing {
        button(
            "Pause".into(),
            "Stop releasing calls (space)".into(),
            offline.map(str::to_owned),
            Command::Pause,
        )
    } else {
        button(
            "Play".into(),
            "Release waiting calls one after another (space)".into(),
            offline.map(str::to_owned),
            Command::Play {
                interval_ms: props.speed,
            },
        )
    };

    let on_speed = {
        let on_speed = props.on_speed.clone();
        Callback::from(move |e: Event| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .and_then(|s| s.value().parse().ok());
            if let Some(ms) = value {
                on_speed.emit(ms);
            }
        })
    };

    let scenarios = model
        .hello
        .as_ref()
        .map(|h| h.scenarios.clone())
        .unwrap_or_default();
    let current = model.session.as_ref().map(|s| s.scenario.name.clone());
    let custom = use_state(|| false);
    let on_scenario = {
        let custom = custom.clone();
        let send = props.send.clone();
        let scenarios = scenarios.clone();
        Callback::from(move |e: Event| {
            let name = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .map(|s| s.value());
            // Custom waits for its settings; the others start at once.
            match scenarios.iter().find(|s| Some(&s.name) == name.as_ref()) {
                Some(s) if s.name == "custom" => custom.set(true),
                Some(scenario) => {
                    custom.set(false);
                    send.emit(Command::Reset {
                        scenario: Some(scenario.clone()),
                    });
                }
                None => {}
            }
        })
    };

    html! {
        <section class="controls" aria-label="Controls">
            { button(
                "Step".into(),
                next.clone().map_or_else(String::new, |n| format!("Release the next call in line: {n} (→)")),
                step_all_reason,
                Command::Step { actor: None },
            ) }
            { for per_actor }
            if more_clients > 0 {
                <span class="next">{ format!("+{more_clients} clients (Step takes the next in line)") }</span>
            }
            { play_pause }
            <label class="speed">
                { "Speed " }
                <select onchange={on_speed} aria-label="Play speed">
                    { for SPEEDS.iter().map(|&(ms, name)| html! {
                        <option value={ms.to_string()} selected={ms == props.speed}>{ format!("{name} ({ms} ms)") }</option>
                    }) }
                </select>
            </label>
            { button(
                "Reset".into(),
                "Close every socket and start the session again (R)".into(),
                offline.map(str::to_owned),
                Command::Reset { scenario: None },
            ) }
            <label class="scenario">
                { "Scenario " }
                <select onchange={on_scenario} disabled={!live} aria-label="Scenario">
                    { for scenarios.iter().map(|s| html! {
                        <option value={s.name.clone()} selected={if *custom { s.name == "custom" } else { Some(&s.name) == current.as_ref() }}>{ s.name.clone() }</option>
                    }) }
                </select>
            </label>
            { downloads(&model) }
            <span class="next" aria-live="polite">
                { next.map_or_else(
                    || match (playing, model.view.why_nothing_waits(3)) {
                        (true, _) => "Playing…".to_owned(),
                        (false, why) => why.unwrap_or_default(),
                    },
                    |n| format!("Next in line: {n}"),
                ) }
            </span>
            <p class="about what-is-a-step">
                <strong>{ "A step" }</strong>{ " releases one program's next socket call into the kernel. " }
                <strong>{ "An event" }</strong>{ " is one thing the relay observed: a call entering, blocking or returning, a segment on the wire, a kernel state change, a printed line. So one step brings many events; \"What happened\" lists them in order." }
            </p>
            if let Some(session) = &model.session {
                <p class="about">{ session.scenario.description() }</p>
            }
            if *custom {
                <ScenarioForm start={model.session.as_ref().map(|s| s.scenario.clone()).unwrap_or_default()}
                              send={props.send.clone()} disabled={!live} />
            }
        </section>
    }
}

/// Links to the relay's files of the current session.
fn downloads(model: &crate::model::Model) -> Html {
    let Some(base) = model.relay_http_base() else {
        return html! {};
    };
    let session = model.download_query();
    let pcap = model.hello.as_ref().filter(|h| h.capture.enabled).map(|_| {
        html! {
            <a href={format!("{base}/download/trace.pcap{session}")} download="">{ "pcap" }</a>
        }
    });
    html! {
        <span class="downloads">
            { "Download: " }
            <a href={format!("{base}/download/trace.jsonl{session}")} download="">{ "events (JSON lines)" }</a>
            if let Some(pcap) = pcap { { " · " } { pcap } }
        </span>
    }
}
