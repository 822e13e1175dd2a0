//! What every CLI test file shares.

use std::process::{Command, Stdio};

/// The binary with a clean environment: no DIDWW_* or NO_COLOR from the caller, no stdin.
pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_didww-exports"));
    for var in [
        "DIDWW_API_KEY",
        "DIDWW_ENV",
        "DIDWW_API_URL",
        "DIDWW_API_VERSION",
        "DIDWW_CALLBACK_SECRET",
        "NO_COLOR",
    ] {
        c.env_remove(var);
    }
    c.stdin(Stdio::null());
    c
}
