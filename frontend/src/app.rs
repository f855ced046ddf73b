//! The root component.

use protocol::classic::{CLIENT_EXPECTS, GREETING, REPLY, SERVER_EXPECTS};
use yew::prelude::*;

/// The page: what tcpstep shows, and the pair it shows it with.
#[component]
pub fn App() -> Html {
    let greeting = String::from_utf8_lossy(GREETING).into_owned();
    let reply = String::from_utf8_lossy(REPLY).into_owned();
    html! {
        <main class="page">
            <header>
                <h1>{ "tcpstep" }</h1>
                <p class="tagline">
                    { "Step through a real TCP connection, one system call at a time." }
                </p>
            </header>
            <section class="pair" aria-label="The programs under the microscope">
                <article class="program" id="server">
                    <h2>{ "server" }</h2>
                    <ol>
                        <li><code>{ "socket() · setsockopt(SO_REUSEADDR) · bind() · listen(1)" }</code></li>
                        <li><code>{ "accept()" }</code></li>
                        <li><code>{ format!("recv_all({SERVER_EXPECTS})") }</code></li>
                        <li><code>{ format!("send_all(b\"{reply}\")") }</code></li>
                        <li><code>{ "close()" }</code></li>
                    </ol>
                </article>
                <article class="program" id="client">
                    <h2>{ "client" }</h2>
                    <ol>
                        <li><code>{ "socket() · connect()" }</code></li>
                        <li><code>{ format!("send_all(b\"{greeting}\")") }</code>
                            <span class="note">{ format!("{} bytes", GREETING.len()) }</span></li>
                        <li><code>{ format!("recv_all({CLIENT_EXPECTS})") }</code></li>
                        <li><code>{ "close()" }</code></li>
                    </ol>
                </article>
            </section>
        </main>
    }
}
