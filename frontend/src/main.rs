//! The wasm entry point that trunk builds: mount the app on the page's body.

fn main() {
    yew::Renderer::<tcpstep_frontend::app::App>::new().render();
}
