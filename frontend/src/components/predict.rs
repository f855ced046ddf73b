//! Predict, then step: the toggle, the question before each step, the
//! verdict after it, and the session's score.
//!
//! The question and the verdict come from the model ([`crate::model::predict`]);
//! this panel only asks, releases the step the question is about, and shows
//! what the real events answered.

use std::{cell::RefCell, rc::Rc};

use protocol::{Command, Mode};
use yew::prelude::*;

use crate::{
    app::Snapshot,
    model::{
        predict::{question, Predictions, Question, Verdict},
        words::{call_text, named},
        Source,
    },
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub send: Callback<Command>,
    /// Whether the mode is on.
    pub on: bool,
    pub on_toggle: Callback<bool>,
}

/// How many past verdicts the panel lists (the score counts them all).
const VERDICTS_SHOWN: usize = 5;

#[component]
pub fn Predict(props: &Props) -> Html {
    let predictions = use_mut_ref(Predictions::default);
    let redraw = use_force_update();
    let model = props.model.get();
    // The events so far may have answered the pending guess.
    predictions
        .borrow_mut()
        .follow(model.session.as_ref().map(|s| s.id), &model.events);

    let toggle = {
        let on_toggle = props.on_toggle.clone();
        let on = props.on;
        Callback::from(move |_: Event| on_toggle.emit(!on))
    };
    let head = html! {
        <label class="predict-toggle" title="Before each step, guess what will happen; the real kernel answers">
            <input type="checkbox" checked={props.on} onchange={toggle} />
            { " Predict, then step" }
        </label>
    };
    if !props.on {
        return html! { <section class="predict off" aria-label="Predict, then step">{ head }</section> };
    }

    let p = predictions.borrow();
    let score = format!("Score: {} right of {} asked", p.right(), p.asked());
    let live = model.is_live() && model.source == Source::Relay;
    let playing = matches!(model.mode(), Mode::Playing { .. });
    let body = if let Some(pending) = &p.pending {
        if pending.released {
            html! { <p class="judging">{ "Stepped: watching what the kernel does until the programs are still…" }</p> }
        } else {
            // The relay announces a call only once its program is in line,
            // so the step sent with the guess is never too early.
            html! { <p class="judging">{ format!("Releasing {}'s call…", named(pending.question.actor)) }</p> }
        }
    } else if !live {
        html! { <p class="why">{ "Predicting needs a live relay: a trace's events are all known already." }</p> }
    } else if playing {
        html! { <p class="why">{ "Pause to predict: play releases calls without asking." }</p> }
    } else {
        match question(&model.view) {
            Some(q) => ask(q, predictions.clone(), props.send.clone(), redraw),
            None => html! {
                <p class="why">{ "No program waits for a step: each is asleep in the kernel or has ended." }</p>
            },
        }
    };
    html! {
        <section class="predict on" aria-label="Predict, then step">
            { head }
            <span class="score" aria-live="polite">{ score }</span>
            { body }
            if !p.verdicts.is_empty() {
                <ol class="verdicts" reversed=true aria-label="Your guesses, latest first">
                    { for p.verdicts.iter().rev().take(VERDICTS_SHOWN).map(verdict) }
                </ol>
            }
        </section>
    }
}

/// The question, each choice a button that answers and releases the step.
fn ask(
    q: Question,
    predictions: Rc<RefCell<Predictions>>,
    send: Callback<Command>,
    redraw: UseForceUpdateHandle,
) -> Html {
    let choices = q.choices.iter().map(|&answer| {
        let label = q.label(answer);
        let onclick = {
            let (q, predictions, send, redraw) =
                (q.clone(), predictions.clone(), send.clone(), redraw.clone());
            Callback::from(move |_: MouseEvent| {
                let actor = q.actor;
                predictions.borrow_mut().guess(q.clone(), answer);
                send.emit(Command::Step { actor: Some(actor) });
                redraw.force_update();
            })
        };
        html! { <button {onclick} class="choice">{ label }</button> }
    });
    html! {
        <fieldset class="question">
            <legend>{ q.text.clone() }</legend>
            { for choices }
        </fieldset>
    }
}

/// One judged guess: right or not, and what the events showed.
fn verdict(v: &Verdict) -> Html {
    let q = &v.question;
    let (class, mark) = if v.right() {
        ("right", "✔ Right")
    } else {
        ("wrong", "✘ Not so")
    };
    let said = if v.right() {
        " —".to_owned()
    } else {
        format!(" — you said “{}”;", q.label(v.guess))
    };
    html! {
        <li class={classes!("verdict", class)}>
            <span class="mark">{ mark }</span>
            { format!(
                "{said} {}'s {}: {} ({}; events {}–{})",
                named(q.actor),
                call_text(&q.call),
                q.label(v.judged.truth),
                v.judged.shown,
                v.judged.released_seq,
                v.judged.settled_seq,
            ) }
        </li>
    }
}
