//! The `node-oracle.js` flags the probe shares, per oracle mode (`server` or
//! `client`): parsed from the command line or from a case file's name, and
//! turned back into oracle arguments.
//!
//! A mode is a type implementing [`Mode`]: its options ([`ProbeOptions`] for
//! the server, [`ClientProbeOptions`] for the client), how the probe runs a case
//! with them, and which fields `cargo xtask diff` compares.

use serde_json::Value;

use super::cases::ProbeCase;
use super::{ProbeOptions, client_engine, engine};
use crate::diff::compare::{self, Compared};

/// One mode of `node-oracle.js` and of the probe: the options a case runs
/// with, and how our side runs it.
pub(crate) trait Mode: Clone + std::fmt::Debug + Send + Sync {
    /// The oracle's mode argument, also the subcommand and the suite folder:
    /// `server` or `client`.
    const NAME: &'static str;
    /// The fields of an answer `cargo xtask diff` compares, in report order.
    const COMPARED: &'static [Compared];

    /// Node's defaults (no flags).
    fn defaults() -> Self;

    /// Applies the flag `arg`, taking its value from `rest` if it has one.
    /// `Ok(false)`: `arg` is not a flag of this mode.
    fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a str>,
    ) -> crate::Result<bool>;

    /// The oracle flags that give these options, in a fixed order (no mode).
    fn flags(&self) -> Vec<String>;

    /// One case through our engine, shaped like the oracle's answer (without
    /// `id`). May panic; [`super::run_one`] catches it.
    fn run(&self, case: &ProbeCase) -> Value;
}

/// Options shared with `node-oracle.js client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClientProbeOptions {
    /// `--insecure`: `insecureHTTPParser: true` on the request.
    pub(crate) insecure: bool,
    /// `--max-header-size N`: `maxHeaderSize: N` on the request.
    pub(crate) max_header_size: Option<usize>,
    /// `--upgrade`: `'upgrade'` and `'connect'` listeners on the request.
    pub(crate) upgrade: bool,
    /// `--method M`: the request method, `GET` by default. A case's own
    /// `method` wins.
    pub(crate) method: String,
    /// Whether the raw server half-closes after sending the case's bytes
    /// (true unless `--no-eof`).
    pub(crate) eof: bool,
}

impl Default for ClientProbeOptions {
    /// Node's defaults: strict parser, 16 KiB header budget, no listeners,
    /// `GET`, and a half-close after the bytes.
    fn default() -> Self {
        Self {
            insecure: false,
            max_header_size: None,
            upgrade: false,
            method: "GET".to_owned(),
            eof: true,
        }
    }
}

impl Mode for ProbeOptions {
    const NAME: &'static str = "server";
    const COMPARED: &'static [Compared] = compare::SERVER;

    /// Node's defaults: strict parser, 16 KiB header budget, no upgrade
    /// listeners, Host required.
    fn defaults() -> Self {
        Self {
            require_host: true,
            ..Self::default()
        }
    }

    fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a str>,
    ) -> crate::Result<bool> {
        if arg == "--no-require-host" {
            self.require_host = false;
            return Ok(true);
        }
        take_common(
            arg,
            rest,
            &mut self.insecure,
            &mut self.max_header_size,
            &mut self.upgrade,
        )
    }

    fn flags(&self) -> Vec<String> {
        let mut a = common_flags(self.insecure, self.max_header_size, self.upgrade);
        if !self.require_host {
            a.push("--no-require-host".into());
        }
        a
    }

    fn run(&self, case: &ProbeCase) -> Value {
        engine::run_case(&case.input, self)
    }
}

impl Mode for ClientProbeOptions {
    const NAME: &'static str = "client";
    const COMPARED: &'static [Compared] = compare::CLIENT;

    fn defaults() -> Self {
        Self::default()
    }

    fn take<'a>(
        &mut self,
        arg: &str,
        rest: &mut impl Iterator<Item = &'a str>,
    ) -> crate::Result<bool> {
        match arg {
            "--no-eof" => self.eof = false,
            "--method" => self.method = rest.next().ok_or("--method needs a value")?.to_owned(),
            _ => {
                return take_common(
                    arg,
                    rest,
                    &mut self.insecure,
                    &mut self.max_header_size,
                    &mut self.upgrade,
                );
            }
        }
        Ok(true)
    }

    fn flags(&self) -> Vec<String> {
        let mut a = common_flags(self.insecure, self.max_header_size, self.upgrade);
        if self.method != "GET" {
            a.push("--method".into());
            a.push(self.method.clone());
        }
        if !self.eof {
            a.push("--no-eof".into());
        }
        a
    }

    /// The case's `method` and `path` win over `--method` and `/`.
    fn run(&self, case: &ProbeCase) -> Value {
        client_engine::run_case(
            &case.input,
            case.method.as_deref().unwrap_or(&self.method),
            case.path.as_deref().unwrap_or("/"),
            self,
        )
    }
}

/// The flags both modes have: `--insecure`, `--max-header-size N`, `--upgrade`.
fn take_common<'a>(
    arg: &str,
    rest: &mut impl Iterator<Item = &'a str>,
    insecure: &mut bool,
    max_header_size: &mut Option<usize>,
    upgrade: &mut bool,
) -> crate::Result<bool> {
    match arg {
        "--insecure" => *insecure = true,
        "--upgrade" => *upgrade = true,
        "--max-header-size" => {
            let n = rest.next().ok_or("--max-header-size needs a number")?;
            let n = n
                .parse()
                .map_err(|_| format!("--max-header-size: `{n}` is not a number"))?;
            *max_header_size = Some(n);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The oracle arguments for the flags both modes have, in the oracle's order.
fn common_flags(insecure: bool, max_header_size: Option<usize>, upgrade: bool) -> Vec<String> {
    let mut a = Vec::new();
    if insecure {
        a.push("--insecure".into());
    }
    if let Some(n) = max_header_size {
        a.push("--max-header-size".into());
        a.push(n.to_string());
    }
    if upgrade {
        a.push("--upgrade".into());
    }
    a
}

/// Flags that take a value; in a file name the value follows a dash
/// (`max-header-size-100`, `method-HEAD`).
const VALUED: [&str; 2] = ["max-header-size", "method"];

/// Parses a command line made only of oracle flags of mode `M`.
pub(crate) fn parse<M: Mode>(args: &[String]) -> crate::Result<M> {
    let mut opts = M::defaults();
    let mut it = args.iter().map(String::as_str);
    while let Some(a) = it.next() {
        if !opts.take(a, &mut it)? {
            return Err(format!("unknown argument `{a}`"));
        }
    }
    Ok(opts)
}

/// The options a case file's name asks for: every `--`-separated part after the
/// first is a flag without its dashes, and a flag with a value carries it after
/// a dash: `max-header-size-N` stands for `--max-header-size N`, `method-HEAD`
/// for `--method HEAD`. `k-upgrade-connect--upgrade` runs with `--upgrade`.
pub(crate) fn from_file_stem<M: Mode>(stem: &str) -> crate::Result<M> {
    let mut opts = M::defaults();
    for part in stem.split("--").skip(1) {
        let valued = VALUED.iter().find_map(|f| {
            part.strip_prefix(f)
                .and_then(|v| v.strip_prefix('-'))
                .map(|v| (format!("--{f}"), v))
        });
        let (flag, value) = match valued {
            Some((flag, v)) => (flag, Some(v)),
            None => (format!("--{part}"), None),
        };
        if !opts.take(&flag, &mut value.into_iter())? {
            return Err(format!(
                "case file `{stem}`: `--{part}` is not a {} oracle flag",
                M::NAME
            ));
        }
    }
    Ok(opts)
}

/// The `node-oracle.js` arguments for these options, mode first.
pub(crate) fn oracle_args<M: Mode>(opts: &M) -> Vec<String> {
    let mut a = vec![M::NAME.to_owned()];
    a.extend(opts.flags());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_line_and_the_file_name_give_the_same_options() {
        let cli: ProbeOptions =
            parse(&args("--upgrade --max-header-size 100 --no-require-host")).unwrap();
        let file: ProbeOptions =
            from_file_stem("p-limits--max-header-size-100--upgrade--no-require-host").unwrap();
        assert_eq!(oracle_args(&cli), oracle_args(&file));
        assert_eq!(
            oracle_args(&cli).join(" "),
            "server --max-header-size 100 --upgrade --no-require-host"
        );
    }

    #[test]
    fn client_flags_round_trip_through_file_names() {
        let cli: ClientProbeOptions = parse(&args(
            "--no-eof --method HEAD --insecure --max-header-size 60",
        ))
        .unwrap();
        let file: ClientProbeOptions =
            from_file_stem("x--method-HEAD--max-header-size-60--insecure--no-eof").unwrap();
        assert_eq!(cli, file);
        assert_eq!(
            oracle_args(&cli).join(" "),
            "client --insecure --max-header-size 60 --method HEAD --no-eof"
        );
        let plain: ClientProbeOptions = from_file_stem("h-status-line").unwrap();
        assert_eq!(plain, ClientProbeOptions::default());
        assert_eq!(oracle_args(&plain), ["client"]);
    }

    #[test]
    fn host_is_required_unless_turned_off() {
        assert!(parse::<ProbeOptions>(&[]).unwrap().require_host);
        assert!(
            from_file_stem::<ProbeOptions>("a-cl-te")
                .unwrap()
                .require_host
        );
        assert_eq!(
            oracle_args(&parse::<ProbeOptions>(&[]).unwrap()),
            ["server"]
        );
    }

    #[test]
    fn unknown_flags_and_bad_numbers_are_errors() {
        let server = |s: &str| parse::<ProbeOptions>(&args(s));
        assert!(server("--split 3").unwrap_err().contains("--split"));
        assert!(server("--max-header-size x").is_err());
        assert!(server("--max-header-size").is_err());
        assert!(server("--method HEAD").is_err());
        assert!(
            from_file_stem::<ProbeOptions>("x--fast")
                .unwrap_err()
                .contains("--fast")
        );
        assert!(parse::<ClientProbeOptions>(&args("--no-require-host")).is_err());
        assert!(parse::<ClientProbeOptions>(&args("--method")).is_err());
        assert!(
            from_file_stem::<ClientProbeOptions>("x--method")
                .unwrap_err()
                .contains("--method needs a value")
        );
        assert!(
            from_file_stem::<ClientProbeOptions>("x--require-host")
                .unwrap_err()
                .contains("not a client oracle flag")
        );
    }
}
