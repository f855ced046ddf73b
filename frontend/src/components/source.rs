//! The programs' source, with the line each program is at. First the pair
//! in Python, as the chapter writes such programs (compiled into the page
//! from `protocol/python/tcp_pair.py`); one click away, the Rust the relay
//! really runs (it sends it in its hello). Both mark the same moment: the
//! Python line is found from the program's latest call
//! ([`python_line`](crate::model::python_line)), the Rust line is the one
//! the relay reported.

use std::ops::RangeInclusive;

use protocol::{python, Actor};
use yew::prelude::*;

use super::actor_class;
use crate::{
    app::Snapshot,
    model::{python_line, ActorStatus, View},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
}

/// Which rendering of the programs the panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Python,
    Rust,
}

impl Tab {
    fn label(self) -> &'static str {
        match self {
            Tab::Python => "Python",
            Tab::Rust => "Rust (what really runs)",
        }
    }

    /// The language's short name, as the panel's `data-language` gives it.
    fn key(self) -> &'static str {
        match self {
            Tab::Python => "python",
            Tab::Rust => "rust",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Tab::Python => "source-tab-python",
            Tab::Rust => "source-tab-rust",
        }
    }
}

const PANEL_ID: &str = "source-tabpanel";

/// Lines shown around the current one.
const CONTEXT: usize = 6;

/// The lines of the statement starting at `first` (0-based): a call that
/// rustfmt spread over several lines is highlighted whole.
fn statement(lines: &[&str], first: usize) -> RangeInclusive<usize> {
    let end = (first..lines.len())
        .take(9)
        .find(|&i| {
            let l = lines[i].trim_end();
            l.ends_with(';') || l.ends_with('{') || l.ends_with(',')
        })
        .unwrap_or(first);
    first..=end
}

/// How many clients' current lines are shown beside the server's.
const CLIENTS_SHOWN: usize = 3;

/// The programs whose lines are shown: the server and the clients that
/// called most recently (a crowd's thousand would bury the page in copies
/// of the same few lines), and how many clients are left out.
fn shown_programs(view: &View) -> (Vec<Actor>, usize) {
    let mut clients: Vec<(u64, Actor)> = view
        .latest_call
        .iter()
        .filter(|(actor, _)| matches!(actor, Actor::Client(_)))
        .filter_map(|(&actor, &i)| Some((view.calls.get(i)?.first_seq, actor)))
        .collect();
    clients.sort_unstable_by(|a, b| b.cmp(a));
    let hidden = clients.len().saturating_sub(CLIENTS_SHOWN);
    let mut shown: Vec<Actor> = clients
        .into_iter()
        .take(CLIENTS_SHOWN)
        .map(|(_, a)| a)
        .collect();
    shown.push(Actor::Server);
    shown.sort();
    (shown, hidden)
}

/// What `actor` is doing at its current line, in words.
fn state(view: &View, actor: Actor) -> &'static str {
    match view.actors.get(&actor) {
        Some(ActorStatus::Waiting(_)) => "waits before this call",
        Some(ActorStatus::InCall(_)) => "is in this call",
        Some(ActorStatus::Blocked(_)) => "is asleep in this call",
        Some(ActorStatus::Ended(_)) => "ended after this call",
        _ => "was last here",
    }
}

/// One program at its line of `file` (shown by its last path segment):
/// the line, or the statement, `current` (0-based) marked, with context.
fn block(
    view: &View,
    actor: Actor,
    file: &str,
    lines: &[&str],
    current: RangeInclusive<usize>,
) -> Html {
    let first = *current.start();
    let from = first.saturating_sub(CONTEXT);
    let to = (*current.end() + CONTEXT).min(lines.len().saturating_sub(1));
    let short = file.rsplit('/').next().unwrap_or(file);
    html! {
        <figure key={actor.to_string()} class={classes!("source-block", actor_class(actor))}>
            <figcaption>{ format!("{actor} {} ({short}:{})", state(view, actor), first + 1) }</figcaption>
            <pre>
                { for (from..=to).map(|i| {
                    let here = current.contains(&i);
                    html! {
                        <div class={classes!("src-line", here.then_some("current"))}
                             aria-current={here.then_some("step")}>
                            <span class="ln">{ i + 1 }</span>{ lines[i] }
                        </div>
                    }
                }) }
            </pre>
        </figure>
    }
}

/// Each shown program at its line of the Python.
fn python_blocks(view: &View, scenario: Option<&protocol::Scenario>, shown: &[Actor]) -> Vec<Html> {
    let lines: Vec<&str> = python::SOURCE.lines().collect();
    shown
        .iter()
        .filter_map(|&actor| {
            let line = python_line(view, scenario, actor)?;
            let i = (line.number as usize).checked_sub(1)?;
            Some(block(view, actor, python::PATH, &lines, i..=i))
        })
        .collect()
}

/// Each shown program at the line of Rust the relay reported.
fn rust_blocks(view: &View, sources: &[protocol::SourceFile], shown: &[Actor]) -> Vec<Html> {
    view.at
        .iter()
        .filter(|(actor, _)| shown.contains(actor))
        .filter_map(|(&actor, at)| {
            let file = sources.iter().find(|f| f.path == at.file)?;
            let lines: Vec<&str> = file.text.lines().collect();
            let first = (at.line as usize)
                .checked_sub(1)
                .filter(|&i| i < lines.len())?;
            Some(block(
                view,
                actor,
                &at.file,
                &lines,
                statement(&lines, first),
            ))
        })
        .collect()
}

#[component]
pub fn SourcePanel(props: &Props) -> Html {
    let tab = use_state(|| Tab::Python);
    let model = props.model.get();
    let view = model.shown();
    let rust = model
        .hello
        .as_ref()
        .map(|h| h.sources.as_slice())
        .filter(|s| !s.is_empty());
    // A relay or trace that sent no Rust has only the Python to show.
    let current = if rust.is_some() { *tab } else { Tab::Python };
    let (shown, hidden) = shown_programs(view);
    let blocks = match (current, rust) {
        (Tab::Rust, Some(sources)) => rust_blocks(view, sources, &shown),
        _ => python_blocks(view, model.session.as_ref().map(|s| &s.scenario), &shown),
    };
    let tabs = [Tab::Python, Tab::Rust]
        .into_iter()
        .filter(|&t| t == Tab::Python || rust.is_some());
    html! {
        <section class="panel source" aria-label="Source">
            <h2>{ "Source" }</h2>
            <div class="source-tabs" role="tablist" aria-label="Language of the programs">
                { for tabs.map(|t| {
                    let onclick = {
                        let tab = tab.clone();
                        Callback::from(move |_: MouseEvent| tab.set(t))
                    };
                    html! {
                        <button type="button" role="tab" id={t.id()}
                                aria-selected={(t == current).to_string()}
                                aria-controls={PANEL_ID} {onclick}>
                            { t.label() }
                        </button>
                    }
                }) }
            </div>
            <div role="tabpanel" id={PANEL_ID} aria-labelledby={current.id()}
                 data-language={current.key()}>
                { for blocks }
                { super::more(hidden, "clients at their lines (the latest to call are shown)") }
            </div>
        </section>
    }
}
