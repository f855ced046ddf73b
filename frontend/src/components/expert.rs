//! The expert panel: what the rules found in the moment shown, most serious
//! first, each leading to the event that shows it.

use yew::prelude::*;

use crate::{
    app::Snapshot,
    model::{Action, Severity},
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
    // The most serious first; past a screenful, the summary counts the rest.
    let hidden = findings.len().saturating_sub(6 * super::MOST_SHOWN);
    findings.truncate(6 * super::MOST_SHOWN);
    let items = findings.iter().map(|f| {
        let seq = f.seq;
        let act = props.act.clone();
        // Show the moment just after the event, and inspect it.
        let onclick = Callback::from(move |_: MouseEvent| {
            let after = seq as usize + 1;
            act.emit(Action::Seek((after < total).then_some(after)));
            act.emit(Action::Select(Some(seq)));
        });
        let chosen = (model.selected == Some(seq)).then_some("selected");
        html! {
            <li key={format!("{}-{}", f.seq, f.rule)} class={classes!("finding", f.severity.word(), chosen)}>
                <span class="severity">{ f.severity.word() }</span>
                <span class="rule">{ f.rule }</span>
                <span class="text">{ f.text.clone() }</span>
                <button {onclick} title={format!("Show the moment of event {seq} and inspect it")}>
                    { format!("event {seq}") }
                </button>
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
                { super::more(hidden, "findings") }
            }
        </section>
    }
}
