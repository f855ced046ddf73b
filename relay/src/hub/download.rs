//! A room's session as files: `GET /download/trace.jsonl` (its events, as
//! `relay record` writes them) and `GET /download/trace.pcap` (its
//! segments), each with `?session=ID` for a private session.

use axum::{
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};

use super::{Aim, Hub};
use crate::{record, rooms::Room};

pub const JSONL_PATH: &str = "/download/trace.jsonl";
pub const PCAP_PATH: &str = "/download/trace.pcap";

/// The room's events as JSON lines.
pub(super) async fn jsonl(State(hub): State<Hub>, Query(aim): Query<Aim>) -> Response {
    let room = match find(&hub, &aim) {
        Ok(room) => room,
        Err(why) => return not_found(why),
    };
    let session = room.feed().session();
    let body = record::json_lines(&room.hello(session.clone()), &room.feed().events());
    file(
        "application/x-ndjson",
        &format!("tcpstep-session-{}.jsonl", session.id),
        body.into_bytes(),
    )
}

/// The room's captured segments as pcap, if capture is on.
pub(super) async fn pcap(State(hub): State<Hub>, Query(aim): Query<Aim>) -> Response {
    let room = match find(&hub, &aim) {
        Ok(room) => room,
        Err(why) => return not_found(why),
    };
    let session = room.feed().session().id;
    // Building the file takes the session's lock: not on the runtime's threads.
    let pcap = {
        let room = room.clone();
        tokio::task::spawn_blocking(move || room.pcap()).await
    };
    match pcap {
        Ok(Some(pcap)) => file(
            "application/vnd.tcpdump.pcap",
            &format!("tcpstep-session-{session}.pcap"),
            pcap,
        ),
        Ok(None) => not_found(format!("no capture to download: {}", room.capture_reason())),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot build the pcap file: {err}\n"),
        )
            .into_response(),
    }
}

fn find(hub: &Hub, aim: &Aim) -> Result<std::sync::Arc<Room>, String> {
    hub.rooms
        .find(aim.session.as_deref())
        .map_err(|err| err.to_string())
}

fn file(content_type: &str, filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn not_found(why: String) -> Response {
    (StatusCode::NOT_FOUND, format!("{why}\n")).into_response()
}
