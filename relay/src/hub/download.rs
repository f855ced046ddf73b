//! The current session as files: `GET /download/trace.jsonl` (its events, as
//! `relay record` writes them) and `GET /download/trace.pcap` (its segments).
//!
//! These are plain HTTP on the WebSocket's port: a request for one of these
//! paths is answered here before any WebSocket handshake is attempted.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::shutdown::Shutdown;
use crate::{host::Host, record};

pub const JSONL_PATH: &str = "/download/trace.jsonl";
pub const PCAP_PATH: &str = "/download/trace.pcap";

/// The longest request head we read before answering.
const MAX_HEAD: usize = 8 * 1024;

/// Answers a plain HTTP request on `stream` (a download, or anything that is
/// not a WebSocket upgrade) and returns `true`; leaves a WebSocket upgrade
/// untouched (only peeked at) and returns `false`. If the hub stops before
/// a request has come, returns `true` at once without answering: the
/// connection is done with. An answer already begun is written out.
pub async fn serve_plain_http(
    stream: &mut TcpStream,
    host: &Host,
    shutdown: &mut Shutdown,
) -> std::io::Result<bool> {
    let mut buf = vec![0; MAX_HEAD];
    let seen = tokio::select! {
        _ = shutdown.recv() => return Ok(true),
        seen = peek_head(stream, &mut buf) => seen?,
    };
    let head = String::from_utf8_lossy(&buf[..seen]).to_ascii_lowercase();
    let upgrade = head
        .lines()
        .any(|l| l.starts_with("upgrade:") && l.contains("websocket"));
    let asked = if head.starts_with(&format!("get {JSONL_PATH} ")) {
        JSONL_PATH
    } else if head.starts_with(&format!("get {PCAP_PATH} ")) {
        PCAP_PATH
    } else if upgrade || seen == 0 {
        return Ok(false);
    } else {
        ""
    };
    read_head(stream).await?;
    let session = host.feed().session();
    let response = match asked {
        JSONL_PATH => {
            let body = record::json_lines(&host.hello(session.clone()), &host.feed().events());
            ok(
                "application/x-ndjson",
                &format!("tcpstep-session-{}.jsonl", session.id),
                body.into_bytes(),
            )
        }
        "" => not_found(&format!(
            "this is the tcpstep relay: the WebSocket is at /ws, downloads are {JSONL_PATH} and {PCAP_PATH}"
        )),
        _ => match host.pcap() {
            Some(pcap) => ok(
                "application/vnd.tcpdump.pcap",
                &format!("tcpstep-session-{}.pcap", session.id),
                pcap,
            ),
            None => not_found(&format!("no capture to download: {}", host.capture_reason())),
        },
    };
    stream.write_all(&response).await?;
    stream.shutdown().await?;
    Ok(true)
}

/// Peeks at the request head, leaving it in the stream; how many bytes of
/// `buf` it fills (0: the peer closed without a word).
async fn peek_head(stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut seen = 0;
    // A request head arrives in one piece in practice; wait a little for it anyway.
    for _ in 0..50 {
        // A connection that never says anything is dropped, not kept forever.
        seen = tokio::time::timeout(Duration::from_secs(10), stream.peek(buf))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "no request within 10 s")
            })??;
        if seen == 0 || buf[..seen].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(seen)
}

async fn read_head(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

fn ok(content_type: &str, filename: &str, body: Vec<u8>) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\
         Content-Disposition: attachment; filename=\"{filename}\"\r\n\
         Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    response.extend(body);
    response
}

fn not_found(why: &str) -> Vec<u8> {
    let body = format!("{why}\n");
    format!(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
