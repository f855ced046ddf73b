//! Follow the stream: each direction's bytes in order, coloured by sender,
//! as text or hex. Selecting a chunk lists the segments that carried it and
//! the calls that sent and consumed it; selecting any of those (here or on
//! the ladder) marks its chunks.

use yew::prelude::*;

use super::{actor_class, call_text, printable};
use crate::{
    app::Snapshot,
    model::{latest_streams, Action, Chunk, Selected, Stream, View},
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub model: Snapshot,
    pub act: Callback<Action>,
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A button that selects event `seq`.
fn event_link(act: &Callback<Action>, seq: u64, label: String) -> Html {
    let onclick = act.reform(move |_: MouseEvent| Action::Select(Some(seq)));
    html! { <button class="link" {onclick}>{ label }</button> }
}

fn chunk_detail(view: &View, stream: &Stream, chunk: &Chunk, act: &Callback<Action>) -> Html {
    let call_name = |seq: u64| {
        view.calls
            .iter()
            .find(|c| c.first_seq == seq)
            .map_or_else(String::new, |c| {
                format!("{}'s {}", c.actor, call_text(&c.call))
            })
    };
    let segments = chunk.segments.iter().map(|&seq| {
        let label =
            view.segments
                .iter()
                .find(|(s, _)| *s == seq)
                .map_or_else(String::new, |(_, s)| {
                    format!(
                        "segment (event {seq}): {} bytes at seq {}",
                        s.len, s.rel_seq
                    )
                });
        html! { <li>{ event_link(act, seq, label) }</li> }
    });
    let calls = |seqs: &[u64]| {
        seqs.iter()
            .map(|&seq| html! { <li>{ event_link(act, seq, format!("{} (event {seq})", call_name(seq))) }</li> })
            .collect::<Html>()
    };
    html! {
        <div class="chunk-detail">
            <p>{ format!("Bytes {} to {} from {} to {}: {:?}", chunk.start, chunk.end.saturating_sub(1), stream.from, stream.to, printable(stream.bytes_of(chunk))) }</p>
            <h3>{ "Carried by" }</h3>
            if chunk.segments.is_empty() { <p class="empty">{ "no captured segment" }</p> }
            <ul>{ for segments }</ul>
            <h3>{ "Sent by" }</h3>
            <ul>{ calls(&chunk.sends) }</ul>
            <h3>{ "Consumed by" }</h3>
            if chunk.recvs.is_empty() { <p class="empty unread">{ "no recv: these bytes were never read" }</p> }
            <ul>{ calls(&chunk.recvs) }</ul>
        </div>
    }
}

#[component]
pub fn StreamPanel(props: &Props) -> Html {
    let model = props.model.get();
    let view = model.shown();
    let as_hex = use_state(|| false);
    let (all, hidden) = latest_streams(view, super::MOST_SHOWN);
    // The selection, looked up once for every direction drawn.
    let selected = model.selected.map(|seq| Selected::of(view, seq));
    let toggle = {
        let as_hex = as_hex.clone();
        Callback::from(move |_: MouseEvent| as_hex.set(!*as_hex))
    };
    let mut detail = None;
    let directions = all.iter().map(|stream| {
        let related = selected
            .map(|sel| stream.related_to(&sel))
            .unwrap_or_default();
        // The chunk shown in detail: the first one the selection relates to.
        if detail.is_none() {
            if let Some(&i) = related.first() {
                detail = Some(chunk_detail(view, stream, &stream.chunks[i], &props.act));
            }
        }
        let sender = stream.sender.map_or("wire", actor_class);
        let chunks = stream.chunks.iter().enumerate().map(|(i, chunk)| {
            let bytes = stream.bytes_of(chunk);
            let text = if *as_hex { hex(bytes) } else { printable(bytes) };
            // Selecting a chunk selects the first thing that explains it.
            let target = chunk.recvs.first().or(chunk.segments.first()).or(chunk.sends.first()).copied();
            let onclick = props.act.reform(move |_: MouseEvent| Action::Select(target));
            let unread = chunk.recvs.is_empty().then_some("unread");
            let chosen = related.contains(&i).then_some("selected");
            html! {
                <button class={classes!("chunk", unread, chosen)} {onclick}
                        title={format!("bytes {}–{}{}", chunk.start, chunk.end.saturating_sub(1), if chunk.recvs.is_empty() { ", not read by any recv" } else { "" })}>
                    { text }
                </button>
            }
        });
        html! {
            <div key={format!("{}>{}", stream.from, stream.to)} class={classes!("direction", sender)}>
                <p class="who">{ format!("{} → {} ({}, {} bytes)", stream.from, stream.to, stream.sender.map_or("unknown".to_owned(), |a| a.to_string()), stream.bytes.len()) }</p>
                <div class="bytes">{ for chunks }</div>
            </div>
        }
    }).collect::<Html>();
    html! {
        <section class="panel stream" aria-label="Follow the stream">
            <h2>{ "Follow the stream" }
                <button class="toggle" onclick={toggle}>{ if *as_hex { "Show text" } else { "Show hex" } }</button></h2>
            if all.is_empty() {
                <p class="empty">{ "No data has crossed yet." }</p>
            } else {
                <p class="legend">{ "Each direction's bytes in order. Dashed: bytes no recv has read. Select a piece for the segments and calls behind it." }</p>
            }
            { directions }
            { super::more(hidden, "directions (connections' streams)") }
            { for detail }
        </section>
    }
}
