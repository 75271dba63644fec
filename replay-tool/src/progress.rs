//! Progress on stderr, only for people: hidden when stderr is not a
//! terminal, so pipes, files and CI logs get none of it.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

const SPINNER_TICK: Duration = Duration::from_millis(120);

/// A bar over `len` events.
pub fn events(len: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {human_pos}/{human_len} events, {per_sec}, eta {eta}",
    )
    .expect("the template is a valid literal")
    .progress_chars("=> ");
    ProgressBar::new(len)
        .with_style(style)
        .with_message(message)
}

/// A spinner for work whose progress cannot be counted.
pub fn spinner(message: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(SPINNER_TICK);
    spinner
}
