//! The expert panel: what the rules found in the moment shown, most serious
//! first, each leading to the event that shows it.

use yew::prelude::*;

use crate::{
    app::Snapshot,
    model::{Action, Finding, Severity},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub act: Callback<Action>,
}

#[component]
pub fn ExpertPanel(props: &Props) -> Html {
    let model = props.model.get();
    let mut findings: Vec<_> = model.shown_findings().iter().collect();
    findings.sort_by_key(|f| (f.severity, f.seq));
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary = [Severity::Error, Severity::Warning, Severity::Note]
        .into_iter()
        .map(|s| {
            format!(
                "{} {}{}",
                count(s),
                s.word(),
                if count(s) == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    let total = model.events.len();
    // One row per rule, as Wireshark's expert info groups them: a zero
    // window advertised fifty times is one thing to understand, not fifty.
    let mut groups: Vec<(&Finding, &Finding, usize)> = Vec::new();
    for f in &findings {
        match groups.iter_mut().find(|g| g.0.rule == f.rule) {
            Some(group) => {
                group.1 = f;
                group.2 += 1;
            }
            None => groups.push((f, f, 1)),
        }
    }
    let go = |seq: u64, label: String| {
        let act = props.act.clone();
        // Show the moment just after the event, and inspect it.
        let onclick = Callback::from(move |_: MouseEvent| {
            let after = seq as usize + 1;
            act.emit(Action::Seek((after < total).then_some(after)));
            act.emit(Action::Select(Some(seq)));
        });
        html! {
            <button {onclick} title={format!("Show the moment of event {seq} and inspect it")}>{ label }</button>
        }
    };
    let items = groups.iter().map(|&(first, latest, n)| {
        let chosen = [first.seq, latest.seq]
            .contains(&model.selected.unwrap_or(u64::MAX))
            .then_some("selected");
        html! {
            <li key={first.rule} class={classes!("finding", first.severity.word(), chosen)}>
                <span class="severity">{ first.severity.word() }</span>
                <span class="rule">{ first.rule }
                    if n > 1 { <span class="count">{ format!(" ×{n}") }</span> }</span>
                <span class="text">{ first.text.clone() }</span>
                <span class="source">{ format!("from {}", first.source.words()) }</span>
                if let Some(detail) = &first.detail {
                    <p class="detail">{ detail.clone() }</p>
                }
                <span class="go">
                    { go(first.seq, format!("event {}", first.seq)) }
                    if n > 1 { { go(latest.seq, format!("latest: {}", latest.seq)) } }
                </span>
            </li>
        }
    });
    html! {
        <section class="panel expert" aria-label="Expert findings">
            <h2>{ "Expert findings" }</h2>
            if findings.is_empty() {
                <p class="empty">{ "Nothing unusual so far: no resets, no zero windows, no retransmissions, no short reads." }</p>
            } else {
                <p class="summary">{ summary }</p>
                <ul class="findings">{ for items }</ul>
            }
        </section>
    }
}
