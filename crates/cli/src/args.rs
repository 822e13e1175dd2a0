//! The command-line grammar. Scripts depend on it: change it only additively.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  unexpected internal error (or the output could not be written)
  2  usage error or client-side validation failure (nothing was sent)
  3  authentication failed (401/403) or no API key configured
  4  not found (404)
  5  rejected by the API (400/422)
  6  network or server failure after retries, refused download origin, or integrity failure
  7  the export did not complete in time, or is not completed yet (download)
  8  invalid callback signature

Environment:
  DIDWW_API_KEY       the API key (never a flag; or use --api-key-file)
  DIDWW_ENV           production, sandbox or emulator
  DIDWW_API_URL       base URL, overriding the environment
  DIDWW_API_VERSION   X-DIDWW-API-Version to send
  DIDWW_CALLBACK_SECRET  the callback signing secret (or --secret-file)
  NO_COLOR            disable colors";

/// Create, wait for and download DIDWW CDR exports.
///
/// `--env emulator` runs everything against a built-in emulator of the API,
/// offline and without a key: try
/// `didww-exports --env emulator create --type cdr_in --month previous --download cdrs.csv.gz`.
#[derive(Parser, Debug)]
#[command(name = "didww-exports", version, after_help = EXIT_CODES, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Env {
    /// https://api.didww.com/v3
    Production,
    /// https://sandbox-api.didww.com/v3
    Sandbox,
    /// A built-in emulator on a free loopback port (no key, no network)
    Emulator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportKind {
    /// ureq, no async runtime
    Blocking,
    /// reqwest on tokio
    Async,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// A readable table
    Table,
    /// JSON: one object per export, an array for lists
    Json,
}

#[derive(Args, Debug)]
pub(crate) struct Global {
    /// Which DIDWW environment to use.
    #[arg(long, global = true, env = "DIDWW_ENV", value_enum, default_value = "production")]
    pub(crate) env: Env,
    /// Base URL of the API, overriding --env (e.g. http://127.0.0.1:12111/v3).
    #[arg(long, global = true, env = "DIDWW_API_URL", value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Read the API key from this file ('-' for stdin) instead of DIDWW_API_KEY.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) api_key_file: Option<PathBuf>,
    /// The X-DIDWW-API-Version to send.
    #[arg(
        long,
        global = true,
        env = "DIDWW_API_VERSION",
        value_name = "DATE",
        default_value = "2026-04-16"
    )]
    pub(crate) api_version: String,
    /// The HTTP client to use.
    #[arg(long, global = true, value_enum, default_value = "blocking")]
    pub(crate) transport: TransportKind,
    /// Output format of the data printed on stdout.
    #[arg(short, long, global = true, value_enum, default_value = "table")]
    pub(crate) output: Output,
    /// Print nothing but the data and errors.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    /// Log each request on stderr (method, URL, status, time; never the key).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Disable colors (also NO_COLOR).
    #[arg(long, global = true)]
    pub(crate) no_color: bool,
    /// Timeout of each API request, in seconds.
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) timeout: Option<f64>,
    /// Pretend the current time is this (RFC 3339); for reproducing a run.
    #[arg(long, global = true, hide = true, value_name = "TIME")]
    pub(crate) now: Option<String>,
}

pub(crate) fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 1e9 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create an export (and optionally wait for it and download it).
    Create(CreateArgs),
    /// Show an export.
    Get {
        /// The export id.
        id: String,
    },
    /// List exports.
    List(ListArgs),
    /// Change an export's external reference id.
    Update {
        /// The export id.
        id: String,
        /// The new external reference id (at most 100 characters).
        #[arg(long, value_name = "S", required_unless_present = "clear")]
        external_reference_id: Option<String>,
        /// Remove the external reference id instead.
        #[arg(long, conflicts_with = "external_reference_id")]
        clear: bool,
    },
    /// Wait until an export completes (progress on stderr, the export on stdout).
    Wait {
        /// The export id.
        id: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Download a completed export's file.
    Download {
        /// The export id.
        id: String,
        /// Where to write (default: the server's file name in the current directory).
        #[arg(short = 'O', long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Write the decompressed CSV instead of the gzip file.
        #[arg(long)]
        decompress: bool,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Print a summary of the file as it arrives (no second read).
        #[arg(long)]
        summarize: bool,
    },
    /// Verify or receive DIDWW's signed callbacks.
    #[command(subcommand)]
    Callback(CallbackCommand),
    /// Read CDR files (plain or gzip, as a stream): summarize or convert them.
    #[command(subcommand)]
    Cdr(CdrCommand),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout.
    Man,
}

#[derive(Subcommand, Debug)]
pub(crate) enum CallbackCommand {
    /// Check a callback's signature: prints `valid` (exit 0) or `invalid` (exit 8).
    ///
    /// The payload is the --param pairs (a POST callback's form fields), or,
    /// without any, the query parameters of --url (a GET callback).
    Verify {
        /// The URL DIDWW called (for GET, with its query).
        #[arg(long, value_name = "URL")]
        url: String,
        /// The X-DIDWW-Signature header.
        #[arg(long, value_name = "HEX")]
        signature: String,
        /// A payload pair (repeatable).
        #[arg(long = "param", value_name = "KEY=VALUE", value_parser = parse_pair)]
        params: Vec<(String, String)>,
        #[command(flatten)]
        secret: SecretArgs,
    },
    /// Receive callbacks: verify each, answer, print one JSON line per valid one,
    /// and optionally download the export.
    Listen(ListenArgs),
}

#[derive(Subcommand, Debug)]
pub(crate) enum CdrCommand {
    /// Count calls, answered calls and duration, and sum every amount column exactly.
    Summarize {
        /// The file (plain CSV or gzip); '-' for stdin.
        file: PathBuf,
        /// Also group the sums by this key.
        #[arg(long, value_enum, value_name = "KEY")]
        by: Option<GroupByArg>,
        /// Report malformed rows on stderr and leave them out, instead of stopping at the first.
        #[arg(long)]
        skip_bad_rows: bool,
    },
    /// Decompress to CSV, or write one JSON object per row (JSON Lines).
    Convert {
        /// The file (plain CSV or gzip); '-' for stdin.
        file: PathBuf,
        /// The output format.
        #[arg(long, value_enum, value_name = "FORMAT")]
        to: ConvertTo,
        /// Write here (atomically) instead of stdout.
        #[arg(short = 'O', long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GroupByArg {
    /// The DID called
    Did,
    /// The UTC day the call started
    Day,
    /// The caller
    Source,
    /// Where the call was delivered
    Destination,
    /// The SIP disconnect code
    DisconnectCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConvertTo {
    /// The CSV itself
    Csv,
    /// One JSON object per row
    Jsonl,
}

#[derive(Args, Debug)]
pub(crate) struct SecretArgs {
    /// Read the callback secret from this file ('-' for stdin) instead of
    /// DIDWW_CALLBACK_SECRET (default: the API key, as older accounts sign with it).
    #[arg(long, value_name = "PATH")]
    pub(crate) secret_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ListenArgs {
    /// Address to listen on, e.g. 0.0.0.0:8080 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub(crate) bind: std::net::SocketAddr,
    /// The callback URL as registered with DIDWW, without query (needed behind a
    /// proxy); otherwise http://<Host header><request target> is what is verified.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// Download each completed export into this directory (needs the API key).
    #[arg(long, value_name = "DIR")]
    pub(crate) download_dir: Option<PathBuf>,
    /// With --download-dir: write the decompressed CSV.
    #[arg(long, requires = "download_dir")]
    pub(crate) decompress: bool,
    /// Exit after the first valid callback has been handled.
    #[arg(long)]
    pub(crate) once: bool,
    /// Largest request body accepted (413 beyond).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub(crate) max_body: usize,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
}

pub(crate) fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExportTypeArg {
    /// Inbound calls
    #[value(name = "cdr_in")]
    CdrIn,
    /// Outbound calls
    #[value(name = "cdr_out")]
    CdrOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MethodArg {
    /// Form-encoded POST
    Post,
    /// Query parameters on a GET
    Get,
}

#[derive(Args, Debug)]
pub(crate) struct WaitArgs {
    /// Seconds between polls (default: 2, growing to 30).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) interval: Option<f64>,
    /// Give up after this many seconds (default: 1800).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) wait_timeout: Option<f64>,
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("range").required(true).args(["from", "month"]))]
pub(crate) struct CreateArgs {
    /// cdr_in (inbound calls) or cdr_out (outbound calls).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub(crate) export_type: ExportTypeArg,
    /// Start: RFC 3339, 'YYYY-MM-DD HH:MM:SS' (UTC) or YYYY-MM-DD (midnight UTC).
    #[arg(long, value_name = "TIME", requires = "to")]
    pub(crate) from: Option<String>,
    /// End, in the same forms as --from.
    #[arg(long, value_name = "TIME", requires = "from")]
    pub(crate) to: Option<String>,
    /// A whole month: YYYY-MM, current or previous (from the 1st 00:00:00 to the last day 23:59:59 UTC).
    #[arg(long, value_name = "MONTH", conflicts_with_all = ["from", "to"])]
    pub(crate) month: Option<String>,
    /// Only this DID's calls (cdr_in; digits only).
    #[arg(long, value_name = "N")]
    pub(crate) did_number: Option<String>,
    /// Only this trunk's calls (cdr_out; a UUID).
    #[arg(long, value_name = "UUID")]
    pub(crate) voice_out_trunk_id: Option<String>,
    /// Where DIDWW calls back when the export completes.
    #[arg(long, value_name = "URL")]
    pub(crate) callback_url: Option<String>,
    /// How DIDWW calls back.
    #[arg(long, value_enum, value_name = "METHOD")]
    pub(crate) callback_method: Option<MethodArg>,
    /// Your own identifier for the export (at most 100 characters).
    #[arg(long, value_name = "S")]
    pub(crate) external_reference_id: Option<String>,
    /// Wait for the export to complete; print the completed export.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Download the file here once completed (implies --wait).
    #[arg(long, value_name = "PATH")]
    pub(crate) download: Option<PathBuf>,
    /// With --download: write the decompressed CSV.
    #[arg(long, requires = "download")]
    pub(crate) decompress: bool,
    /// With --download: replace an existing file.
    #[arg(long, requires = "download")]
    pub(crate) force: bool,
    /// With --download: print a summary of the file as it arrives.
    #[arg(long, requires = "download")]
    pub(crate) summarize: bool,
    #[command(flatten)]
    pub(crate) wait_args: WaitArgs,
    /// Validate and print the JSON:API request body; send nothing (no key needed).
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Receive the signed completion callback on this address instead of
    /// polling (polls if none arrives before --wait-timeout); implies --wait.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["callback_url", "dry_run"])]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// With --listen: the public URL DIDWW should call (default: http://ADDR/).
    #[arg(long, value_name = "URL", requires = "listen")]
    pub(crate) public_url: Option<String>,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
}

#[derive(Args, Debug)]
pub(crate) struct ListArgs {
    /// Only exports with this external reference id.
    #[arg(long, value_name = "S")]
    pub(crate) external_reference_id: Option<String>,
    /// Sort by created_at, external_reference_id or status; prefix '-' for descending.
    #[arg(long, value_name = "FIELD", allow_hyphen_values = true)]
    pub(crate) sort: Option<String>,
    /// Page number (from 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) page: Option<u32>,
    /// Exports per page (1..=1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) page_size: Option<u32>,
    /// Every page.
    #[arg(long, conflicts_with = "page")]
    pub(crate) all: bool,
}
