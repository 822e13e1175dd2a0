//! `didww-exports`: every DIDWW CDR export operation from the shell.
//!
//! The CLI parses arguments, resolves configuration, and prints; the protocol
//! lives in `didww-exports-core` and the HTTP in the two transport crates.
#![allow(clippy::print_stderr)]

mod api;
mod args;
mod cdr;
mod error;
mod listen;
mod output;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{CommandFactory, Parser};
use didww_exports_core::operations::sanitize_file_name;
use didww_exports_core::time::{month_range, parse_user_time};
use didww_exports_core::wait::PollSchedule;
use didww_exports_core::{
    ApiKey, CallbackMethod, CallbackSecret, ClientOptions, CreateExport, Credential, DownloadOptions, Environment,
    Export, ExportId, ExportType, ExternalReferenceId, ListQuery, PageSize, Sort, jsonapi,
};
use didww_exports_mock::{BlockingMockServer, MockConfig};
use serde_json::Value;

use crate::api::Api;
use crate::args::{
    CallbackCommand, CdrCommand, Cli, Command, CreateArgs, Env, ExportTypeArg, ListArgs, ListenArgs, MethodArg, Output,
    SecretArgs, TransportKind, WaitArgs,
};
use crate::error::{AUTH, CliError, INTERNAL, NOT_READY};
use crate::listen::{Event, ListenConfig, Listener};
use crate::output::{export_json, print_json, table, write_out};

/// The key the built-in emulator accepts.
const EMULATOR_KEY: &str = "emulator-demo-key";

struct Context<'a> {
    cli: &'a args::Global,
    now: DateTime<Utc>,
    color: bool,
    /// Kept alive while the command runs.
    emulator: std::cell::OnceCell<BlockingMockServer>,
}

impl Context<'_> {
    fn info(&self, message: &str) {
        if !self.cli.quiet {
            eprintln!("{message}");
        }
    }

    fn show_progress(&self) -> bool {
        !self.cli.quiet
    }

    fn api_key(&self) -> Result<Credential, CliError> {
        let (raw, origin) = match &self.cli.api_key_file {
            Some(path) if path.as_os_str() == "-" => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| CliError::new(AUTH, format!("could not read the API key from stdin: {e}")))?;
                (s, "stdin".to_owned())
            }
            Some(path) => (
                std::fs::read_to_string(path).map_err(|e| {
                    CliError::new(AUTH, format!("could not read the API key file {}: {e}", path.display()))
                })?,
                path.display().to_string(),
            ),
            None => match std::env::var("DIDWW_API_KEY") {
                Ok(k) => (k, "DIDWW_API_KEY".to_owned()),
                Err(_) => {
                    return Err(CliError::new(
                        AUTH,
                        "no API key configured: set DIDWW_API_KEY or pass --api-key-file PATH (or try --env emulator)",
                    ));
                }
            },
        };
        ApiKey::new(raw.trim())
            .map(Credential::ApiKey)
            .map_err(|e| CliError::new(AUTH, format!("the API key from {origin} {e}")))
    }

    /// The API client, starting the built-in emulator for `--env emulator`.
    fn api(&self) -> Result<Api, CliError> {
        let (base, credential) = self.endpoint()?;
        self.api_for(&base, credential)
    }

    /// The base URL and credential, starting the built-in emulator for `--env emulator`.
    fn endpoint(&self) -> Result<(String, Credential), CliError> {
        if let Some(server) = self.emulator.get() {
            let key = Credential::api_key(EMULATOR_KEY).map_err(|e| CliError::new(INTERNAL, e.to_string()))?;
            return Ok((server.base_url().to_owned(), key));
        }
        Ok(match (&self.cli.base_url, self.cli.env) {
            (Some(url), _) => (url.clone(), self.api_key()?),
            (None, Env::Emulator) => {
                let server = BlockingMockServer::start(MockConfig::new(EMULATOR_KEY).with_processing_delay_ms(1500))
                    .map_err(|e| CliError::new(INTERNAL, format!("cannot start the built-in emulator: {e}")))?;
                let url = server.base_url().to_owned();
                self.info(&format!(
                    "using the built-in emulator at {url} (demo data; no API key needed)"
                ));
                let _ = self.emulator.set(server);
                (
                    url,
                    Credential::api_key(EMULATOR_KEY).map_err(|e| CliError::new(INTERNAL, e.to_string()))?,
                )
            }
            (None, Env::Production) => (Environment::Production.base_url().to_string(), self.api_key()?),
            (None, Env::Sandbox) => (Environment::Sandbox.base_url().to_string(), self.api_key()?),
        })
    }

    fn api_for(&self, base: &str, credential: Credential) -> Result<Api, CliError> {
        let mut builder = ClientOptions::builder()
            .base_url(base)
            .credential(credential)
            .api_version(&self.cli.api_version)
            .user_agent(&format!("didww-exports-cli/{}", env!("CARGO_PKG_VERSION")));
        if let Some(secs) = self.cli.timeout {
            builder = builder.request_timeout(Duration::from_secs_f64(secs));
        }
        let options = builder.build().map_err(|e| CliError::usage(e.to_string()))?;
        Api::new(
            options,
            self.cli.transport == TransportKind::Async,
            self.cli.verbose > 0,
        )
    }

    /// The callback secret: --secret-file, DIDWW_CALLBACK_SECRET, or (as for
    /// older accounts) the API key when one is configured.
    fn callback_secret(&self, args: &SecretArgs, api_key: Option<&Credential>) -> Result<CallbackSecret, CliError> {
        let (raw, origin) = match &args.secret_file {
            Some(path) if path.as_os_str() == "-" => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .map_err(|e| CliError::usage(format!("could not read the callback secret from stdin: {e}")))?;
                (s, "stdin".to_owned())
            }
            Some(path) => (
                std::fs::read_to_string(path)
                    .map_err(|e| CliError::usage(format!("could not read the secret file {}: {e}", path.display())))?,
                path.display().to_string(),
            ),
            None => match (std::env::var("DIDWW_CALLBACK_SECRET"), api_key) {
                (Ok(s), _) => (s, "DIDWW_CALLBACK_SECRET".to_owned()),
                (Err(_), Some(key)) => (key.expose_secret().to_owned(), "the API key".to_owned()),
                (Err(_), None) => {
                    return Err(CliError::usage(
                        "no callback secret configured: set DIDWW_CALLBACK_SECRET or pass --secret-file PATH",
                    ));
                }
            },
        };
        CallbackSecret::new(raw.trim()).map_err(|e| CliError::usage(format!("the callback secret from {origin} {e}")))
    }

    fn print_export(&self, export: &Export) -> Result<(), CliError> {
        match self.cli.output {
            Output::Json => print_json(&export_json(export)),
            Output::Table => write_out(&table(std::slice::from_ref(export), self.color)),
        }
    }
}

fn parse_id(raw: &str) -> Result<ExportId, CliError> {
    raw.trim().parse().map_err(|e| CliError::usage(format!("ID {e}")))
}

fn schedule(wait: &WaitArgs) -> PollSchedule {
    let timeout = Duration::from_secs_f64(wait.wait_timeout.unwrap_or(1800.0));
    match wait.interval {
        Some(i) => PollSchedule::fixed(Duration::from_secs_f64(i), timeout),
        None => PollSchedule::default().with_timeout(timeout),
    }
}

fn build_request(args: &CreateArgs, now: DateTime<Utc>, listen_url: Option<&str>) -> Result<CreateExport, CliError> {
    let (from, to) = match (&args.month, &args.from, &args.to) {
        (Some(month), _, _) => month_range(month, now).map_err(|e| CliError::usage(format!("--month: {e}")))?,
        (None, Some(from), Some(to)) => (
            parse_user_time(from).map_err(|e| CliError::usage(format!("--from: {e}")))?,
            parse_user_time(to).map_err(|e| CliError::usage(format!("--to: {e}")))?,
        ),
        _ => return Err(CliError::usage("give --from and --to, or --month")),
    };
    let export_type = match args.export_type {
        ExportTypeArg::CdrIn => ExportType::CdrIn,
        ExportTypeArg::CdrOut => ExportType::CdrOut,
    };
    let mut b = CreateExport::builder(export_type).from(from).to(to);
    if let Some(v) = &args.did_number {
        b = b.did_number(v.clone());
    }
    if let Some(v) = &args.voice_out_trunk_id {
        b = b.voice_out_trunk_id(v.clone());
    }
    if let Some(v) = listen_url.or(args.callback_url.as_deref()) {
        b = b.callback_url(v);
    }
    match (args.callback_method, listen_url) {
        (Some(MethodArg::Post), _) | (None, Some(_)) => b = b.callback_method(CallbackMethod::Post),
        (Some(MethodArg::Get), _) => b = b.callback_method(CallbackMethod::Get),
        (None, None) => {}
    }
    if let Some(v) = &args.external_reference_id {
        b = b.external_reference_id(v.clone());
    }
    b.build(now).map_err(|e| CliError::invalid(&e))
}

/// The file name the server gives the export (from its `url`), in the current directory.
fn default_path(export: &Export, decompress: bool) -> PathBuf {
    let name = export
        .url
        .as_deref()
        .and_then(|u| u.split(['?', '#']).next())
        .and_then(|u| u.rsplit('/').next())
        .and_then(sanitize_file_name)
        .unwrap_or_else(|| export.default_file_name());
    let name = if decompress {
        name.strip_suffix(".gz").map(str::to_owned).unwrap_or(name)
    } else {
        name
    };
    PathBuf::from(name)
}

/// Downloads `export` to `path`; with `summarize`, also summarizes the bytes
/// as they arrive and returns the summary (the file is still written atomically).
fn download(
    ctx: &Context<'_>,
    api: &Api,
    export: &Export,
    path: &std::path::Path,
    decompress: bool,
    force: bool,
    summarize: bool,
) -> Result<Option<didww_exports_core::summary::Summary>, CliError> {
    let options = DownloadOptions::default().decompress(decompress).overwrite(force);
    let (written, summary) = if summarize {
        let file = didww_exports_fs::AtomicFile::create(path, force)
            .map_err(|e| CliError::from_client(didww_exports_core::ClientError::<std::io::Error>::from(e)))?;
        let (tee, summarizer) = cdr::tee(file, None);
        let (tee, stats) = api.download_to_writer(export, tee, &options, ctx.show_progress())?;
        let file = tee.into_inner();
        let summary = summarizer
            .join()
            .map_err(|_| CliError::new(INTERNAL, "the summarizer stopped unexpectedly"))?;
        file.commit()
            .map_err(|e| CliError::from_client(didww_exports_core::ClientError::<std::io::Error>::from(e)))?;
        let summary =
            summary.map_err(|e| CliError::usage(format!("downloaded {} (kept), but {}", path.display(), e.message)))?;
        (stats.written, Some(summary))
    } else {
        (api.download(export, path, &options, ctx.show_progress())?.written, None)
    };
    ctx.info(&format!(
        "downloaded {} ({} bytes{})",
        path.display(),
        written,
        if decompress { ", decompressed" } else { "" }
    ));
    Ok(summary)
}

fn create(ctx: &Context<'_>, args: &CreateArgs) -> Result<(), CliError> {
    if args.listen.is_none() {
        return create_then(ctx, args, build_request(args, ctx.now, None)?, None);
    }
    // Validate everything else before binding or starting anything.
    build_request(args, ctx.now, Some("http://127.0.0.1/"))?;
    let (base, credential) = ctx.endpoint()?;
    let secret = ctx.callback_secret(&args.secret, Some(&credential))?;
    let listener = Listener::start(ListenConfig {
        bind: args.listen.unwrap_or_else(|| unreachable!("checked above")),
        public_url: args.public_url.clone(),
        secret,
        max_body: 64 * 1024,
    })?;
    let public = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}/", listener.addr()));
    ctx.info(&format!(
        "listening for the completion callback on {} (DIDWW will call {public})",
        listener.addr()
    ));
    let request = build_request(args, ctx.now, Some(&public))?;
    let api = ctx.api_for(&base, credential)?;
    create_then(ctx, args, request, Some((api, listener)))
}

/// Waits for the signed callback of `id` until the deadline; `None` if none came.
fn await_callback(ctx: &Context<'_>, listener: &Listener, id: &ExportId, timeout: Duration) -> Result<bool, CliError> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        match listener.next(Some(left)) {
            Some(Event::Callback(cb)) if cb.id == *id && cb.status.is_completed() => return Ok(true),
            Some(Event::Callback(cb)) => ctx.info(&format!("ignoring a callback for export {} ({})", cb.id, cb.status)),
            Some(Event::Signal) => return Err(CliError::new(INTERNAL, "interrupted before the export completed")),
            None => return Ok(false),
        }
    }
}

fn create_then(
    ctx: &Context<'_>,
    args: &CreateArgs,
    request: CreateExport,
    listening: Option<(Api, Listener)>,
) -> Result<(), CliError> {
    if args.dry_run {
        return print_json(&jsonapi::create_document(&request));
    }
    if let Some(path) = args
        .download
        .as_deref()
        .filter(|p| !args.force && p.symlink_metadata().is_ok())
    {
        return Err(CliError::usage(format!(
            "{} already exists; use --force to replace it (nothing was sent)",
            path.display()
        )));
    }
    let (api, listener) = match listening {
        Some((api, listener)) => (api, Some(listener)),
        None => (ctx.api()?, None),
    };
    let mut export = api.create(&request)?;
    ctx.info(&format!("created export {}", export.id));
    let plan = schedule(&args.wait_args);
    if let Some(listener) = &listener {
        if await_callback(ctx, listener, &export.id, plan.timeout)? {
            ctx.info("received the signed completion callback");
            export = api.get(&export.id)?;
        } else {
            ctx.info("no callback arrived in time; polling instead");
            export = api.wait(&export.id, &plan, ctx.show_progress())?;
        }
    } else if args.wait || args.download.is_some() {
        export = api.wait(&export.id, &plan, ctx.show_progress())?;
    }
    let summary = match &args.download {
        Some(path) => download(ctx, &api, &export, path, args.decompress, args.force, args.summarize)?,
        None => None,
    };
    match (summary, ctx.cli.output) {
        (Some(summary), Output::Json) => {
            let mut object = export_json(&export);
            object["summary"] = summary.to_json();
            print_json(&object)
        }
        (Some(summary), Output::Table) => {
            ctx.print_export(&export)?;
            write_out(&cdr::summary_table(&summary))
        }
        (None, _) => ctx.print_export(&export),
    }
}

fn list(ctx: &Context<'_>, args: &ListArgs) -> Result<(), CliError> {
    let mut query = ListQuery::new();
    if let Some(r) = &args.external_reference_id {
        query = query.external_reference_id(
            ExternalReferenceId::new(r.as_str())
                .map_err(|e| CliError::usage(format!("--external-reference-id {e}")))?,
        );
    }
    if let Some(sort) = &args.sort {
        for key in sort.split(',').filter(|k| !k.is_empty()) {
            query = query.sort(
                key.parse::<Sort>()
                    .map_err(|e| CliError::usage(format!("--sort: {}", e.rule)))?,
            );
        }
    }
    if let Some(size) = args.page_size.and_then(PageSize::new) {
        query = query.page_size(size);
    }
    if let Some(page) = args.page.and_then(std::num::NonZeroU32::new) {
        query = query.page(page);
    }
    let api = ctx.api()?;
    let (exports, footer) = if args.all {
        let all = api.list_all(&query)?;
        let n = all.len();
        (all, format!("{n} export{}", if n == 1 { "" } else { "s" }))
    } else {
        let page = api.list(&query)?;
        let footer = format!(
            "{} of {} export{}{}",
            page.exports.len(),
            page.total_records.map_or_else(|| "?".into(), |t| t.to_string()),
            if page.total_records == Some(1) { "" } else { "s" },
            if page.links.next.is_some() {
                " (more pages: --page N, or --all)"
            } else {
                ""
            }
        );
        (page.exports, footer)
    };
    match ctx.cli.output {
        Output::Json => print_json(&Value::Array(exports.iter().map(export_json).collect())),
        Output::Table => {
            write_out(&table(&exports, ctx.color))?;
            ctx.info(&footer);
            Ok(())
        }
    }
}

fn listen_command(ctx: &Context<'_>, args: &ListenArgs) -> Result<(), CliError> {
    // Downloads need the API; resolve it (and fail on a missing key) before listening.
    let endpoint = match &args.download_dir {
        Some(dir) => {
            if !dir.is_dir() {
                return Err(CliError::usage(format!(
                    "--download-dir {} is not a directory",
                    dir.display()
                )));
            }
            Some(ctx.endpoint()?)
        }
        None => None,
    };
    let key = match &endpoint {
        Some((_, credential)) => Some(credential.clone()),
        None => std::env::var("DIDWW_API_KEY")
            .ok()
            .and_then(|k| Credential::api_key(k.trim()).ok()),
    };
    let secret = ctx.callback_secret(&args.secret, key.as_ref())?;
    let api = match endpoint {
        Some((base, credential)) => Some(ctx.api_for(&base, credential)?),
        None => None,
    };
    let listener = Listener::start(ListenConfig {
        bind: args.bind,
        public_url: args.public_url.clone(),
        secret,
        max_body: args.max_body,
    })?;
    ctx.info(&format!("listening for DIDWW callbacks on http://{}", listener.addr()));
    loop {
        let Some(Event::Callback(cb)) = listener.next(None) else {
            ctx.info("shutting down");
            return Ok(());
        };
        let mut line = serde_json::json!({"id": cb.id.to_string(), "status": cb.status.as_str()});
        let outcome = match (&api, &args.download_dir) {
            (Some(api), Some(dir)) if cb.status.is_completed() => api.get(&cb.id).and_then(|export| {
                let path = dir.join(default_path(&export, args.decompress));
                if path.exists() {
                    ctx.info(&format!("{} is already here; not downloading it again", path.display()));
                } else {
                    download(ctx, api, &export, &path, args.decompress, false, false)?;
                }
                line["path"] = serde_json::json!(path.display().to_string());
                Ok(())
            }),
            _ => Ok(()),
        };
        let printed = write_out(&format!("{line}\n"));
        match (outcome, args.once) {
            (Err(e), true) => return Err(e),
            (Err(e), false) => eprintln!("error: export {}: {}", cb.id, e.message),
            (Ok(()), true) => return printed,
            (Ok(()), false) => printed?,
        }
    }
}

fn run(cli: &Cli) -> Result<(), CliError> {
    let now = match &cli.global.now {
        Some(t) => didww_exports_core::time::parse_time(t).map_err(|e| CliError::usage(format!("--now: {e}")))?,
        None => Utc::now(),
    };
    let color = !cli.global.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let ctx = Context {
        cli: &cli.global,
        now,
        color,
        emulator: std::cell::OnceCell::new(),
    };
    match &cli.command {
        Command::Create(args) => create(&ctx, args),
        Command::Get { id } => {
            let id = parse_id(id)?;
            let export = ctx.api()?.get(&id)?;
            ctx.print_export(&export)
        }
        Command::List(args) => list(&ctx, args),
        Command::Update {
            id,
            external_reference_id,
            clear,
        } => {
            let id = parse_id(id)?;
            let reference = match (external_reference_id, clear) {
                (_, true) => None,
                (Some(r), false) => Some(
                    ExternalReferenceId::new(r.as_str())
                        .map_err(|e| CliError::usage(format!("--external-reference-id {e}")))?,
                ),
                (None, false) => return Err(CliError::usage("give --external-reference-id S or --clear")),
            };
            let export = ctx.api()?.update(&id, reference)?;
            ctx.print_export(&export)
        }
        Command::Wait { id, wait } => {
            let id = parse_id(id)?;
            let export = ctx.api()?.wait(&id, &schedule(wait), ctx.show_progress())?;
            ctx.print_export(&export)
        }
        Command::Download {
            id,
            out,
            decompress,
            force,
            summarize,
        } => {
            let id = parse_id(id)?;
            let api = ctx.api()?;
            let export = api.get(&id)?;
            if !export.is_completed() {
                let status = export.status.as_ref().map_or("unknown", |s| s.as_str());
                return Err(CliError::new(
                    NOT_READY,
                    format!(
                        "export {id} is not completed yet (status: {status}); wait for it with: didww-exports wait {id}"
                    ),
                ));
            }
            let path = out.clone().unwrap_or_else(|| default_path(&export, *decompress));
            let summary = download(&ctx, &api, &export, &path, *decompress, *force, *summarize)?;
            match (ctx.cli.output, summary) {
                (Output::Json, summary) => {
                    let mut object = serde_json::json!({"id": id.to_string(), "path": path.display().to_string()});
                    if let Some(s) = summary {
                        object["summary"] = s.to_json();
                    }
                    print_json(&object)
                }
                (Output::Table, summary) => {
                    write_out(&format!("{}\n", path.display()))?;
                    summary.map_or(Ok(()), |s| write_out(&cdr::summary_table(&s)))
                }
            }
        }
        Command::Callback(CallbackCommand::Verify {
            url,
            signature,
            params,
            secret,
        }) => {
            let secret = ctx.callback_secret(secret, None)?;
            let pairs = if params.is_empty() {
                didww_exports_core::signature::callback_pairs("GET", url, b"")
                    .map_err(|e| CliError::usage(e.to_string()))?
            } else {
                params.clone()
            };
            didww_exports_core::signature::normalize_url(url).map_err(|e| CliError::usage(format!("--url: {e}")))?;
            let valid = didww_exports_core::signature::verify(
                &secret,
                url,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                signature,
            );
            write_out(if valid { "valid\n" } else { "invalid\n" })?;
            if valid {
                Ok(())
            } else {
                Err(CliError {
                    silent: true,
                    ..CliError::new(error::BAD_SIGNATURE, "invalid")
                })
            }
        }
        Command::Callback(CallbackCommand::Listen(args)) => listen_command(&ctx, args),
        Command::Cdr(CdrCommand::Summarize {
            file,
            by,
            skip_bad_rows,
        }) => cdr::summarize_command(file, *by, *skip_bad_rows, ctx.cli.output),
        Command::Cdr(CdrCommand::Convert { file, to, out, force }) => {
            cdr::convert_command(file, *to, out.as_deref(), *force)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "didww-exports", &mut out);
            write_out(&String::from_utf8_lossy(&out))
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| CliError::new(INTERNAL, e.to_string()))?;
            write_out(&String::from_utf8_lossy(&out))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.silent {
                let color =
                    !cli.global.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal();
                let prefix = if color { "\x1b[31merror:\x1b[0m" } else { "error:" };
                eprintln!("{prefix} {}", e.message);
                for d in &e.details {
                    eprintln!("  - {d}");
                }
            }
            ExitCode::from(e.code)
        }
    }
}
