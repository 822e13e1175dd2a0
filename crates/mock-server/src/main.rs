//! `didww-exports-mock`: run the DIDWW exports API emulator from the shell.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use didww_exports_core::CallbackSecret;
use didww_exports_mock::{MockConfig, MockServer};

/// A stateful local emulator of DIDWW's CDR export API (see docs/emulator.md).
///
/// The first line on stdout is `listening on http://HOST:PORT/v3`, the base URL
/// to give clients. It serves until SIGINT or SIGTERM, then exits 0.
#[derive(Parser, Debug)]
#[command(name = "didww-exports-mock", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:12111")]
    bind: SocketAddr,
    /// The API key clients must send (Api-Key header).
    #[arg(long, value_name = "KEY", hide_env_values = true)]
    api_key: String,
    /// The callback signing secret (default: the API key, as for older accounts).
    #[arg(long, value_name = "SECRET", hide_env_values = true)]
    callback_secret: Option<String>,
    /// Milliseconds from creation to completion (half pending, half processing).
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    processing_delay_ms: u64,
    /// Rows in each export file.
    #[arg(long, default_value_t = 1000)]
    rows: u64,
    /// Seed of export ids and file contents.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Gzip members each file is split into.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    gzip_members: u32,
    /// Requests per second allowed per key (0: unlimited).
    #[arg(long, default_value_t = 20)]
    rate_limit: u32,
    /// Pretend the clock starts at this RFC 3339 time (e.g. 2025-12-16T06:39:44Z).
    #[arg(long, value_parser = parse_now)]
    now: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_now(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    didww_exports_core::time::parse_time(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match MockConfig::try_new(&args.api_key) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: --api-key {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(secret) = &args.callback_secret {
        match CallbackSecret::new(secret.as_str()) {
            Ok(s) => config = config.with_callback_secret(s),
            Err(e) => {
                eprintln!("error: --callback-secret {e}");
                return ExitCode::from(2);
            }
        }
    }
    config = config
        .with_processing_delay_ms(args.processing_delay_ms)
        .with_rows(args.rows)
        .with_seed(args.seed)
        .with_gzip_members(args.gzip_members)
        .with_rate_limit(args.rate_limit);
    if let Some(now) = args.now {
        config = config.with_now(now);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async move {
        // Handlers first: a signal sent as soon as the first line is read must stop us cleanly.
        let signals = Signals::install();
        let server = match MockServer::bind(args.bind, config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: cannot listen on {}: {e}", args.bind);
                return ExitCode::from(1);
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", server.base_url());
        let _ = out.flush();
        drop(out);
        signals.wait().await;
        eprintln!("shutting down");
        server.stop().await;
        ExitCode::SUCCESS
    })
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                streams: signal(SignalKind::interrupt())
                    .ok()
                    .zip(signal(SignalKind::terminate()).ok()),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
