//! Core is pure: its source reads no clock, environment, file or socket, and
//! starts no thread. Time and randomness come in as arguments.
#![allow(clippy::unwrap_used)]

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
    "std::env::var",
    "env::var(",
    "std::fs",
    "File::open",
    "File::create",
    "std::net",
    "TcpStream",
    "UdpSocket",
    "std::thread",
    "thread::sleep",
    "std::process",
];

fn visit(dir: &Path, offenders: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            visit(&path, offenders);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            // Only the library code, not the unit tests at the bottom of a file.
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            for needle in FORBIDDEN {
                if code.contains(needle) {
                    offenders.push(format!("{}: {needle}", path.display()));
                }
            }
        }
    }
}

#[test]
fn core_source_does_no_io() {
    let mut offenders = Vec::new();
    visit(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut offenders);
    assert!(offenders.is_empty(), "core must stay pure: {offenders:#?}");
}
