//! `cargo xtask bench server` and `cargo xtask bench client`: our tokio server and
//! client under `../shared/bench/server-compare.sh` / `client-compare.sh`, beside the
//! anchors (hyper, raw tokio, Node; hyper-util, ureq, Node), then our same-run ratios
//! with PASS/FAIL against the targets of issue 5.
//!
//! Both build our program with the anchors' profile ([`super::PROFILE`]), build the
//! anchors once into `.tools/anchors-target` (unless `ANCHORS_BIN` is set), install
//! `wrk` from Debian when it is missing, and exit 0 after reporting: this is a
//! measurement, not a test. The parsing and arithmetic below are pure and unit-tested.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{PROFILE, anchors, callgrind_total, on_path, profile_dir, status};

const SERVER_USAGE: &str = "usage: cargo xtask bench server [FLAGS]
  runs ../shared/bench/server-compare.sh with our hello-server beside hyper, raw tokio
  and Node (split layout: server on CPU 0, wrk -t1 on CPU 1), then prints our ratios
  and PASS/FAIL against the targets (plain: req/s >= 1.0x hyper, CPU/req <= 0.95x;
  pipe16: req/s >= 1.2x, CPU/req <= 0.7x; idle keep-alive connection <= 8 KiB).
  --quick        1 round of 3 s, 200 idle connections (a smoke run, ~1 min)
  --rounds N     interleaved rounds (default 3; 5 for figures worth reporting)
  --nice N       NICE for the scripts (-10 recommended: own session, autogroup nice)
  --modes M      wrk modes, e.g. 'plain pipe16' (the default) or 'pipe16'
  --cmd CMD      our server command ('... --port {port} --threads {threads}');
                 default: our hello-server example (as courier-benches' hello-tokio), bench-lto
  --runtime R    whose hello-server is ours: tokio (default), async-std or blocking.
                 For async-std and blocking each round runs the tokio adapter's
                 hello-server and then that runtime's beside hyper, and the verdict is
                 issue 6's: async-std req/s >= 0.9x the tokio adapter's, paired by
                 round (blocking: reported, no target)
  --icount       also count instructions per request of the proto side under
                 callgrind (the server-pipeline example, depth 16 and 1)
  --report DIR   measure nothing: report a finished run again from its results
                 directory (the `.tools/results/server-<time>` it printed). Repeated:
                 the runs pooled (every round paired within its own run), with the
                 mean and standard error of the ratios and how many runs pass
env: SERVERS (default 'hyper raw node ours'), DURATION, WARMUP, IDLE_CONNS, ANCHORS_BIN";

const CLIENT_USAGE: &str = "usage: cargo xtask bench client [FLAGS]
  runs ../shared/bench/client-compare.sh with our load-client beside hyper-util and
  Node against the raw anchor server, then prints our ratios and PASS/FAIL against the
  targets (64 in flight: req/s >= 1.1x hyper-util; sequential: >= 1.0x).
  --quick        1 round, 5,000 sequential / 20,000 concurrent requests
  --rounds N     interleaved rounds (default 3)
  --nice N       NICE for the script (-10 recommended)
  --modes M      'seq conc' (the default), 'seq' or 'conc'
  --cmd CMD      our client command ('... --url {url} --n {n} --conc {conc}');
                 default: courier-rt-tokio's load-client example (as courier-benches'
                 load-client-tokio, bench-lto profile)
  --report DIR   measure nothing: report a finished run again from its results
                 directory (the `.tools/results/client-<time>` it printed); repeated,
                 the runs pooled as `bench server --report` pools them
env: CLIENTS (default 'hyper node ours'), N_SEQ, N_CONC, ANCHORS_BIN";

/// The command-line knobs shared by both subcommands.
#[derive(Debug, Default, PartialEq)]
struct Flags {
    quick: bool,
    rounds: Option<u32>,
    nice: i32,
    modes: Option<String>,
    cmd: Option<String>,
    icount: bool,
    runtime: Option<String>,
    /// Finished runs' results directories to report again (pooled when there are
    /// several), measuring nothing.
    report: Vec<PathBuf>,
}

fn flags(args: &[String], usage: &str, icount_ok: bool) -> crate::Result<Flags> {
    let mut f = Flags::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{usage}"))
        };
        match a.as_str() {
            "--quick" => f.quick = true,
            "--icount" if icount_ok => f.icount = true,
            "--rounds" => {
                let v = value("--rounds")?;
                f.rounds = Some(v.parse().map_err(|e| format!("--rounds {v}: {e}"))?);
            }
            "--nice" => {
                let v = value("--nice")?;
                f.nice = v.parse().map_err(|e| format!("--nice {v}: {e}"))?;
            }
            "--modes" => f.modes = Some(value("--modes")?),
            "--cmd" => f.cmd = Some(value("--cmd")?),
            "--report" => f.report.push(PathBuf::from(value("--report")?)),
            "--runtime" if icount_ok => {
                let v = value("--runtime")?;
                if !["tokio", "async-std", "blocking"].contains(&v.as_str()) {
                    return Err(format!(
                        "--runtime {v}: tokio, async-std or blocking\n{usage}"
                    ));
                }
                f.runtime = Some(v);
            }
            other => return Err(format!("unknown flag `{other}`\n{usage}")),
        }
    }
    Ok(f)
}

// ------------------------------------------------------------------- server --

pub(crate) fn server(args: &[String]) -> crate::Result {
    if crate::help_asked(args, SERVER_USAGE) {
        return Ok(());
    }
    let f = flags(args, SERVER_USAGE, true)?;
    if !f.report.is_empty() {
        // Another runtime's run is several script runs relabelled as it went: only
        // the tokio adapter's (one script run) can be read back.
        if f.runtime.as_deref().is_some_and(|r| r != "tokio") {
            return Err(format!("--report reads a tokio run only\n{SERVER_USAGE}"));
        }
        let runs = f
            .report
            .iter()
            .map(|dir| {
                let (tsv, idle) = read_server_results(dir)?;
                ServerSummary::parse(&tsv, &idle)
            })
            .collect::<crate::Result<Vec<_>>>()?;
        print!("{}", ServerSummary::report_runs(runs));
        return Ok(());
    }
    let root = crate::root();
    let ours = match &f.cmd {
        Some(c) => c.clone(),
        None => {
            let runtime = f.runtime.as_deref().unwrap_or("tokio");
            server_command(&root, runtime)?
        }
    };
    if f.icount {
        icount(&root)?;
    }
    let anchors_bin = anchors(&root, &["hyper-server", "raw-server"], false)?;
    ensure_wrk()?;
    let rounds = f.rounds.unwrap_or(if f.quick { 1 } else { 3 });
    let runtime = f.runtime.as_deref().unwrap_or("tokio");
    let summary = if runtime == "tokio" || f.cmd.is_some() {
        let (tsv, idle) = compare_servers(&root, &anchors_bin, &f, &ours, None, rounds, true)?;
        ServerSummary::parse(&tsv, &idle)?
    } else {
        // Another runtime's target is relative to the tokio adapter: each round runs
        // the tokio adapter's hello-server, then this runtime's beside hyper, so that
        // the two are paired by round, minutes apart at most.
        let tokio = server_command(&root, "tokio")?;
        let mut rows = Vec::new();
        let mut idle = String::new();
        for r in 1..=rounds {
            let (tsv, _) =
                compare_servers(&root, &anchors_bin, &f, &tokio, Some("ours"), 1, false)?;
            rows.extend(parse_server_tsv(&tsv)?.into_iter().map(|row| ServerRow {
                round: r,
                server: "tokio".into(),
                ..row
            }));
            let (tsv, i) = compare_servers(&root, &anchors_bin, &f, &ours, None, 1, r == rounds)?;
            rows.extend(
                parse_server_tsv(&tsv)?
                    .into_iter()
                    .map(|row| ServerRow { round: r, ..row }),
            );
            idle = i;
        }
        ServerSummary {
            rows,
            idle: parse_idle(&idle),
            runtime: Some(runtime.to_string()),
        }
    };
    print!("\n{}", summary.report());
    Ok(())
}

/// Builds a runtime's plaintext server and returns its command for the scripts. The
/// servers are the adapters' examples (`hello-server`, `hello-smol`), built as
/// `courier-benches` binaries: as examples they would be built with their package's
/// dev-dependencies, and rt-tokio's switch on tokio's `test-util` (a mutex in
/// tokio's clock), which no application has.
fn server_command(root: &Path, runtime: &str) -> crate::Result<String> {
    let bin = match runtime {
        "async-std" => "hello-smol",
        "blocking" => "hello-blocking",
        _ => "hello-tokio",
    };
    build(root, &["-p", "courier-benches", "--bin", bin])?;
    Ok(format!(
        "{} --port {{port}} --threads {{threads}}",
        profile_dir().join(bin).display()
    ))
}

/// One run of `server-compare.sh` with `ours` as our server: `servers` (default: the
/// `SERVERS` environment or all anchors and ours), `rounds` interleaved rounds, the
/// idle-connection probe when `idle`. Returns `results.tsv` and `idle.txt`.
fn compare_servers(
    root: &Path,
    anchors_bin: &Path,
    f: &Flags,
    ours: &str,
    servers: Option<&str>,
    rounds: u32,
    idle: bool,
) -> crate::Result<(String, String)> {
    let results = results_dir(root, "server");
    let script = crate::shared().join("bench/server-compare.sh");
    let mut cmd = Command::new(&script);
    cmd.current_dir(root)
        .arg(ours)
        .env("ANCHORS_BIN", anchors_bin)
        .env("RESULTS_DIR", &results)
        .env("NICE", f.nice.to_string())
        .env("ROUNDS", rounds.to_string());
    match servers {
        Some(s) => {
            cmd.env("SERVERS", s);
        }
        None if std::env::var_os("SERVERS").is_none() => {
            let default = if f.runtime.as_deref().unwrap_or("tokio") == "tokio" {
                "hyper raw node ours"
            } else {
                "hyper ours"
            };
            cmd.env("SERVERS", default);
        }
        None => {}
    }
    if let Some(m) = &f.modes {
        cmd.env("MODES", m);
    }
    if !idle {
        cmd.env("IDLE_CONNS", "0");
    }
    if f.quick {
        for (k, v) in [("DURATION", "3"), ("WARMUP", "1"), ("IDLE_CONNS", "200")] {
            if (idle || k != "IDLE_CONNS") && std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
    }
    println!(
        "\n== {} (results in {})",
        script.display(),
        results.display()
    );
    status(&mut cmd)?;
    read_server_results(&results)
}

/// `results.tsv` and `idle.txt` (empty when the idle probe did not run) of a
/// `server-compare.sh` results directory.
fn read_server_results(dir: &Path) -> crate::Result<(String, String)> {
    let tsv = read(&dir.join("results.tsv"))?;
    let idle = std::fs::read_to_string(dir.join("idle.txt")).unwrap_or_default();
    Ok((tsv, idle))
}

/// Instructions per request of the proto side (the `server-pipeline` example).
fn icount(root: &Path) -> crate::Result {
    if !on_path("valgrind") {
        return Err("--icount needs valgrind (apt-get install -y valgrind)".into());
    }
    build(
        root,
        &["-p", "courier-proto", "--example", "server-pipeline"],
    )?;
    let bin = profile_dir().join("examples/server-pipeline");
    println!(
        "\n== proto instructions per request (callgrind, (I(2N) - I(N)) / N; \
         ServerConn + ServerResponse, no runtime)"
    );
    for depth in ["16", "1"] {
        let n = 20_000u64;
        let count =
            |iters: u64| callgrind_total(&bin, &["--iters", &iters.to_string(), "--depth", depth]);
        let per = (count(2 * n)? as f64 - count(n)? as f64) / n as f64;
        println!("depth {depth:>2}: {per:>8.0} instructions/request");
    }
    Ok(())
}

/// One row of `server-compare.sh`'s `results.tsv`.
#[derive(Debug, Clone, PartialEq)]
struct ServerRow {
    round: u32,
    server: String,
    mode: String,
    rps: f64,
    errors: u64,
    us_per_req: f64,
    other_pct: f64,
}

/// A `results.tsv` of the shared bench scripts: a header line naming the columns, then
/// one tab-separated record per line.
struct Tsv<'a> {
    header: Vec<&'a str>,
    records: Vec<&'a str>,
}

impl<'a> Tsv<'a> {
    fn parse(tsv: &'a str) -> crate::Result<Self> {
        let mut lines = tsv.lines().filter(|l| !l.trim().is_empty());
        let header = lines
            .next()
            .ok_or("results.tsv is empty")?
            .split('\t')
            .collect();
        Ok(Self {
            header,
            records: lines.collect(),
        })
    }

    /// The index of column `name`.
    fn col(&self, name: &str) -> crate::Result<usize> {
        self.header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("results.tsv has no `{name}` column"))
    }

    fn records(&self) -> impl Iterator<Item = Record<'a>> + '_ {
        self.records.iter().map(|line| Record {
            line,
            fields: line.split('\t').collect(),
        })
    }
}

/// One record of a [`Tsv`].
struct Record<'a> {
    line: &'a str,
    fields: Vec<&'a str>,
}

impl Record<'_> {
    fn bad(&self) -> String {
        format!("bad results.tsv line `{}`", self.line)
    }

    /// Field `i` parsed, if it is there and parses.
    fn get<T: std::str::FromStr>(&self, i: usize) -> Option<T> {
        self.fields.get(i).and_then(|v| v.parse().ok())
    }

    /// Field `i` parsed; the record is bad without it.
    fn need<T: std::str::FromStr>(&self, i: usize) -> crate::Result<T> {
        self.get(i).ok_or_else(|| self.bad())
    }

    /// A number that may be missing (`NaN` then).
    fn num_or_nan(&self, i: usize) -> f64 {
        self.get(i).unwrap_or(f64::NAN)
    }
}

/// Parses `results.tsv` (header line first; columns by name).
fn parse_server_tsv(tsv: &str) -> crate::Result<Vec<ServerRow>> {
    let t = Tsv::parse(tsv)?;
    let (c_round, c_server, c_mode, c_rps) = (
        t.col("round")?,
        t.col("server")?,
        t.col("mode")?,
        t.col("rps")?,
    );
    let (c_err, c_us, c_other) = (
        t.col("errors")?,
        t.col("srv_us_per_req")?,
        t.col("other_cpu_pct")?,
    );
    t.records()
        .map(|r| {
            Ok(ServerRow {
                round: r.need(c_round)?,
                server: r.need(c_server)?,
                mode: r.need(c_mode)?,
                rps: r.need(c_rps)?,
                errors: r.get(c_err).unwrap_or(0),
                us_per_req: r.num_or_nan(c_us),
                other_pct: r.num_or_nan(c_other),
            })
        })
        .collect()
}

/// `per_conn_bytes` of each server in `idle.txt` (`<server> IDLE conns=.. per_conn_bytes=N ..`).
fn parse_idle(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let server = words.next()?;
            let bytes = words.find_map(|w| w.strip_prefix("per_conn_bytes="))?;
            Some((server.to_string(), bytes.parse().ok()?))
        })
        .collect()
}

/// The median of the finite values (NaN when there are none).
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Medians of one server in one mode, and its ratios to another server of the same
/// run: `paired` = median over rounds of the per-round ratio (each round's anchor
/// ran minutes apart from the next round's), `of_medians` = ratio of the medians,
/// `lo` / `hi` = the smallest and largest of the `pairs` per-round ratios (NaN
/// without pairs), `mean` and `se` = their mean and its standard error (NaN with
/// fewer than two pairs).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ratio {
    paired: f64,
    of_medians: f64,
    lo: f64,
    hi: f64,
    pairs: usize,
    mean: f64,
    se: f64,
}

impl Ratio {
    /// The figure the verdicts use: paired when there are pairs.
    fn value(self) -> f64 {
        if self.paired.is_finite() {
            self.paired
        } else {
            self.of_medians
        }
    }
}

fn ratio_of<T>(
    ours: &[&T],
    base: &[&T],
    round: impl Fn(&T) -> u32,
    metric: impl Fn(&T) -> f64,
) -> Ratio {
    let per_round: Vec<f64> = ours
        .iter()
        .filter_map(|o| {
            let b = base.iter().find(|b| round(b) == round(o))?;
            Some(metric(o) / metric(b))
        })
        .filter(|x| x.is_finite())
        .collect();
    let paired = median(per_round.iter().copied());
    let of_medians =
        median(ours.iter().map(|o| metric(o))) / median(base.iter().map(|b| metric(b)));
    let (lo, hi) = per_round
        .iter()
        .fold((f64::NAN, f64::NAN), |(lo, hi), &x| (x.min(lo), x.max(hi)));
    let (mean, se) = mean_and_se(&per_round);
    Ratio {
        paired,
        of_medians,
        lo,
        hi,
        pairs: per_round.len(),
        mean,
        se,
    }
}

/// The mean of `values` and its standard error (the sample standard deviation over
/// the square root of the count); NaN for both with fewer than two values.
fn mean_and_se(values: &[f64]) -> (f64, f64) {
    if values.len() < 2 {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// From this many pairs on (several runs pooled, or one long run), a verdict's
/// context gives the mean ratio and its standard error too: enough pairs for the
/// error to say whether a median at the bound's edge is on its side of it.
const PAIRS_FOR_MEAN: usize = 10;

/// One verdict line.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    what: String,
    value: f64,
    bound: f64,
    /// `true`: the value must be at least the bound; `false`: at most.
    at_least: bool,
    /// What to read the value beside (the per-round spread, an anchor's figure);
    /// empty for none.
    context: String,
}

/// A ratio verdict's context: the spread of its per-round ratios, and the same
/// figure of the raw anchor (a server that parses nothing) when it ran.
fn ratio_context(r: Ratio, raw: Option<Ratio>) -> String {
    let mut parts = Vec::new();
    if r.pairs > 1 {
        parts.push(format!("rounds {:.3}..{:.3}", r.lo, r.hi));
    }
    if r.pairs >= PAIRS_FOR_MEAN {
        parts.push(format!("mean {:.3} +- {:.3} (s.e.)", r.mean, r.se));
    }
    if let Some(raw) = raw.filter(|x| x.value().is_finite()) {
        if raw.pairs >= PAIRS_FOR_MEAN {
            parts.push(format!(
                "raw anchor {:.3} (mean {:.3} +- {:.3})",
                raw.value(),
                raw.mean,
                raw.se
            ));
        } else {
            parts.push(format!("raw anchor {:.3}", raw.value()));
        }
    }
    parts.join(", ")
}

impl Verdict {
    fn pass(&self) -> Option<bool> {
        if !self.value.is_finite() || !self.bound.is_finite() {
            return None;
        }
        Some(if self.at_least {
            self.value >= self.bound
        } else {
            self.value <= self.bound
        })
    }

    fn line(&self) -> String {
        if !self.bound.is_finite() {
            return format!("info  {}: {:.2} (no target)", self.what, self.value);
        }
        let word = match self.pass() {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a ",
        };
        let op = if self.at_least { ">=" } else { "<=" };
        // A ratio with three decimals: a verdict at the bound's edge shows on which
        // side it fell. A size in whole units.
        let mut line = if self.bound >= 100.0 {
            format!(
                "{word}  {}: {:.0} ({op} {:.0})",
                self.what, self.value, self.bound
            )
        } else {
            format!(
                "{word}  {}: {:.3} ({op} {:.2})",
                self.what, self.value, self.bound
            )
        };
        if !self.context.is_empty() {
            line.push_str("; ");
            line.push_str(&self.context);
        }
        line
    }
}

/// The `== targets` section of a report: one line per verdict.
fn targets_section(issue: u32, verdicts: &[Verdict]) -> String {
    let mut s = format!("\n== targets (issue {issue})\n");
    for v in verdicts {
        let _ = writeln!(s, "{}", v.line());
    }
    s
}

/// Run `i`'s round `r` is round `i * POOL_STRIDE + r` of the pooled runs: each pair
/// stays within its own run.
const POOL_STRIDE: u32 = 100_000;

/// The rows of several runs as the rows of one, their rounds renumbered so that no
/// round of one run meets a round of another.
fn pool<R>(runs: Vec<Vec<R>>, round: impl Fn(&mut R) -> &mut u32) -> Vec<R> {
    let mut rows = Vec::new();
    for (i, run) in (0u32..).zip(runs) {
        rows.extend(run.into_iter().map(|mut row| {
            *round(&mut row) += i * POOL_STRIDE;
            row
        }));
    }
    rows
}

/// A pooled report: its heading, the pooled table, and the pooled verdicts, each
/// with how many of the runs (`runs`: each run's own verdicts) pass it alone.
fn pooled_report(
    issue: u32,
    table: String,
    mut pooled: Vec<Verdict>,
    runs: &[Vec<Verdict>],
) -> String {
    count_passing_runs(&mut pooled, runs);
    let heading = format!(
        "== {} runs pooled: each ratio is over the rounds of all of them, every round \
         paired within its own run\n",
        runs.len()
    );
    heading + &table + &targets_section(issue, &pooled)
}

/// Adds to each pooled verdict how many of the runs pass the same target on their
/// own.
fn count_passing_runs(pooled: &mut [Verdict], runs: &[Vec<Verdict>]) {
    for v in pooled {
        let judged: Vec<bool> = runs
            .iter()
            .filter_map(|run| run.iter().find(|r| r.what == v.what)?.pass())
            .collect();
        if judged.is_empty() {
            continue;
        }
        let passing = judged.iter().filter(|&&p| p).count();
        if !v.context.is_empty() {
            v.context.push_str("; ");
        }
        let _ = write!(v.context, "{passing} of {} runs pass", judged.len());
    }
}

/// Everything `bench server` reports.
#[derive(Debug)]
struct ServerSummary {
    rows: Vec<ServerRow>,
    idle: BTreeMap<String, f64>,
    /// `Some(runtime)` when "ours" is another adapter's server, measured beside the
    /// tokio adapter's (rows of server `tokio`): issue 6's target applies instead of
    /// issue 5's.
    runtime: Option<String>,
}

/// Issue 6: the async-std adapter's req/s at least this share of the tokio adapter's.
const VS_TOKIO_MIN: f64 = 0.9;

/// Issue 5's server targets per mode: (min req/s ratio, max CPU-per-request ratio).
fn server_targets(mode: &str) -> Option<(f64, f64)> {
    match mode {
        "plain" => Some((1.0, 0.95)),
        "pipe16" => Some((1.2, 0.7)),
        _ => None,
    }
}

/// Issue 5's bound on RSS per idle keep-alive connection.
const IDLE_BYTES_MAX: f64 = 8192.0;

impl ServerSummary {
    fn parse(tsv: &str, idle: &str) -> crate::Result<Self> {
        Ok(Self {
            rows: parse_server_tsv(tsv)?,
            idle: parse_idle(idle),
            runtime: None,
        })
    }

    fn modes(&self) -> Vec<&str> {
        let mut m: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !m.contains(&r.mode.as_str()) {
                m.push(&r.mode);
            }
        }
        m
    }

    fn servers(&self) -> Vec<&str> {
        let mut s: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !s.contains(&r.server.as_str()) {
                s.push(&r.server);
            }
        }
        s
    }

    fn select(&self, server: &str, mode: &str) -> Vec<&ServerRow> {
        self.rows
            .iter()
            .filter(|r| r.server == server && r.mode == mode)
            .collect()
    }

    fn ratio(&self, server: &str, base: &str, mode: &str, cpu: bool) -> Ratio {
        let metric = |r: &ServerRow| if cpu { r.us_per_req } else { r.rps };
        ratio_of(
            &self.select(server, mode),
            &self.select(base, mode),
            |r| r.round,
            metric,
        )
    }

    fn verdicts(&self) -> Vec<Verdict> {
        let mut v = Vec::new();
        if let Some(runtime) = &self.runtime {
            for mode in self.modes() {
                if self.select("ours", mode).is_empty() || self.select("tokio", mode).is_empty() {
                    continue;
                }
                let r = self.ratio("ours", "tokio", mode, false);
                v.push(Verdict {
                    what: format!("{mode}: {runtime} req/s x the tokio adapter's"),
                    value: r.value(),
                    // The blocking adapter is reported without a target (issue 6).
                    bound: if runtime == "async-std" {
                        VS_TOKIO_MIN
                    } else {
                        f64::NAN
                    },
                    at_least: true,
                    context: ratio_context(r, None),
                });
            }
            return v;
        }
        for mode in self.modes() {
            let Some((rps_min, cpu_max)) = server_targets(mode) else {
                continue;
            };
            if self.select("ours", mode).is_empty() || self.select("hyper", mode).is_empty() {
                continue;
            }
            for cpu in [false, true] {
                let r = self.ratio("ours", "hyper", mode, cpu);
                let raw = (!self.select("raw", mode).is_empty())
                    .then(|| self.ratio("raw", "hyper", mode, cpu));
                v.push(Verdict {
                    what: if cpu {
                        format!("{mode}: server CPU per request x hyper")
                    } else {
                        format!("{mode}: req/s x hyper")
                    },
                    value: r.value(),
                    bound: if cpu { cpu_max } else { rps_min },
                    at_least: !cpu,
                    context: ratio_context(r, raw),
                });
            }
        }
        if let Some(&b) = self.idle.get("ours") {
            v.push(Verdict {
                what: "RSS per idle keep-alive connection, bytes".into(),
                value: b,
                bound: IDLE_BYTES_MAX,
                at_least: false,
                context: String::new(),
            });
        }
        v
    }

    /// The issue whose targets apply.
    fn issue(&self) -> u32 {
        if self.runtime.is_some() { 6 } else { 5 }
    }

    /// The table and the verdicts.
    fn report(&self) -> String {
        self.table() + &targets_section(self.issue(), &self.verdicts())
    }

    /// One run's report, or several runs pooled: the table and verdicts of all their
    /// rounds, each verdict with how many runs pass it alone. An idle connection's
    /// cost is each server's median over the runs that measured it.
    fn report_runs(mut runs: Vec<Self>) -> String {
        if runs.len() == 1 {
            return runs.remove(0).report();
        }
        let per_run: Vec<Vec<Verdict>> = runs.iter().map(Self::verdicts).collect();
        let mut idle: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for run in &runs {
            for (server, &bytes) in &run.idle {
                idle.entry(server.clone()).or_default().push(bytes);
            }
        }
        let pooled = Self {
            rows: pool(runs.into_iter().map(|r| r.rows).collect(), |r| &mut r.round),
            idle: idle.into_iter().map(|(k, v)| (k, median(v))).collect(),
            runtime: None,
        };
        pooled_report(pooled.issue(), pooled.table(), pooled.verdicts(), &per_run)
    }

    fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== our server vs the anchors (medians over rounds; x = paired per-round ratio, \
             [ratio of medians])"
        );
        let _ = writeln!(
            s,
            "{:<7} {:<7} {:>10} {:>16} {:>16} {:>8} {:>16} {:>7} {:>6} {:>11}",
            "mode",
            "server",
            "req/s",
            "x hyper",
            "x node",
            "us/req",
            "x hyper",
            "other%",
            "errors",
            "idle B/conn"
        );
        let fmt = |r: Ratio| format!("{:.2} [{:.2}]", r.paired, r.of_medians);
        for mode in self.modes() {
            for server in self.servers() {
                let rows = self.select(server, mode);
                if rows.is_empty() {
                    continue;
                }
                let rps = median(rows.iter().map(|r| r.rps));
                let us = median(rows.iter().map(|r| r.us_per_req));
                let other = rows.iter().map(|r| r.other_pct).fold(f64::NAN, f64::max);
                let errors: u64 = rows.iter().map(|r| r.errors).sum();
                let idle = self
                    .idle
                    .get(server)
                    .map_or("-".to_string(), |b| format!("{b:.0}"));
                let _ = writeln!(
                    s,
                    "{:<7} {:<7} {:>10.0} {:>16} {:>16} {:>8.2} {:>16} {:>7.0} {:>6} {:>11}",
                    mode,
                    server,
                    rps,
                    fmt(self.ratio(server, "hyper", mode, false)),
                    fmt(self.ratio(server, "node", mode, false)),
                    us,
                    fmt(self.ratio(server, "hyper", mode, true)),
                    other,
                    errors,
                    idle
                );
            }
        }
        let noisy = self.rows.iter().any(|r| r.other_pct > 20.0);
        if noisy {
            let _ = writeln!(
                s,
                "warning: some run had other% > 20 (other sessions' load): re-run before believing it"
            );
        }
        if self.rows.iter().any(|r| r.errors > 0) {
            let _ = writeln!(s, "warning: socket errors or non-2xx responses in some run");
        }
        s
    }
}

// ------------------------------------------------------------------- client --

pub(crate) fn client(args: &[String]) -> crate::Result {
    if crate::help_asked(args, CLIENT_USAGE) {
        return Ok(());
    }
    let f = flags(args, CLIENT_USAGE, false)?;
    if !f.report.is_empty() {
        return report_client_results(&f.report);
    }
    let root = crate::root();
    let ours = match &f.cmd {
        Some(c) => c.clone(),
        None => {
            build(
                &root,
                &["-p", "courier-benches", "--bin", "load-client-tokio"],
            )?;
            format!(
                "{} --url {{url}} --n {{n}} --conc {{conc}}",
                profile_dir().join("load-client-tokio").display()
            )
        }
    };
    let anchors_bin = anchors(&root, &["raw-server", "hyper-client", "ureq-client"], false)?;
    let results = results_dir(&root, "client");
    let script = crate::shared().join("bench/client-compare.sh");
    let mut cmd = Command::new(&script);
    cmd.current_dir(&root)
        .arg(&ours)
        .env("ANCHORS_BIN", &anchors_bin)
        .env("RESULTS_DIR", &results)
        .env("NICE", f.nice.to_string());
    if std::env::var_os("CLIENTS").is_none() {
        let node = if on_path("node") { " node" } else { "" };
        cmd.env("CLIENTS", format!("hyper{node} ours"));
    }
    if let Some(m) = &f.modes {
        cmd.env("MODES", m);
    }
    let rounds = f.rounds.unwrap_or(if f.quick { 1 } else { 3 });
    cmd.env("ROUNDS", rounds.to_string());
    if f.quick {
        for (k, v) in [("N_SEQ", "5000"), ("N_CONC", "20000")] {
            if std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
    }
    println!(
        "\n== {} (results in {})",
        script.display(),
        results.display()
    );
    status(&mut cmd)?;
    println!();
    report_client_results(&[results])
}

/// Prints the report of `client-compare.sh` results directories: one run's, or
/// several runs pooled as [`ServerSummary::report_runs`] pools them.
fn report_client_results(dirs: &[PathBuf]) -> crate::Result {
    let runs = dirs
        .iter()
        .map(|dir| parse_client_tsv(&read(&dir.join("results.tsv"))?))
        .collect::<crate::Result<Vec<_>>>()?;
    print!("{}", client_report_runs(runs));
    Ok(())
}

/// One run's report, or several runs pooled, each verdict with how many runs pass it
/// alone.
fn client_report_runs(mut runs: Vec<Vec<ClientRow>>) -> String {
    if runs.len() == 1 {
        return client_report(&runs.remove(0));
    }
    let per_run: Vec<Vec<Verdict>> = runs.iter().map(|rows| client_table(rows).1).collect();
    let (table, verdicts) = client_table(&pool(runs, |r| &mut r.round));
    pooled_report(5, table, verdicts, &per_run)
}

/// One row of `client-compare.sh`'s `results.tsv`.
#[derive(Debug, Clone, PartialEq)]
struct ClientRow {
    round: u32,
    client: String,
    mode: String,
    n: f64,
    rps: f64,
    /// Client CPU seconds (`NaN` when not measured).
    cpu_s: f64,
}

fn parse_client_tsv(tsv: &str) -> crate::Result<Vec<ClientRow>> {
    let t = Tsv::parse(tsv)?;
    let (c_round, c_client, c_mode, c_n, c_rps, c_cpu) = (
        t.col("round")?,
        t.col("client")?,
        t.col("mode")?,
        t.col("n")?,
        t.col("rps")?,
        t.col("client_cpu_s")?,
    );
    t.records()
        .map(|r| {
            Ok(ClientRow {
                round: r.need(c_round)?,
                client: r.need(c_client)?,
                mode: r.need(c_mode)?,
                n: r.need(c_n)?,
                rps: r.need(c_rps)?,
                cpu_s: r.num_or_nan(c_cpu),
            })
        })
        .collect()
}

/// Issue 5's client targets: minimum req/s ratio to hyper-util per mode.
fn client_target(mode: &str) -> Option<f64> {
    match mode {
        "seq" => Some(1.0),
        "conc" => Some(1.1),
        _ => None,
    }
}

/// One run's table and verdicts.
fn client_report(rows: &[ClientRow]) -> String {
    let (table, verdicts) = client_table(rows);
    table + &targets_section(5, &verdicts)
}

/// The table of a client run (or pooled runs), and its verdicts.
fn client_table(rows: &[ClientRow]) -> (String, Vec<Verdict>) {
    let mut s = String::new();
    let mut modes: Vec<&str> = Vec::new();
    let mut clients: Vec<&str> = Vec::new();
    for r in rows {
        if !modes.contains(&r.mode.as_str()) {
            modes.push(&r.mode);
        }
        if !clients.contains(&r.client.as_str()) {
            clients.push(&r.client);
        }
    }
    let sel = |c: &str, m: &str| -> Vec<&ClientRow> {
        rows.iter()
            .filter(|r| r.client == c && r.mode == m)
            .collect()
    };
    let _ = writeln!(
        s,
        "== our client vs the anchors (medians; x = paired per-round ratio [ratio of medians])"
    );
    let _ = writeln!(
        s,
        "{:<5} {:<7} {:>10} {:>16} {:>16} {:>12}",
        "mode", "client", "req/s", "x hyper", "x node", "cpu us/req"
    );
    let mut verdicts = Vec::new();
    for &m in &modes {
        for &c in &clients {
            let ours = sel(c, m);
            if ours.is_empty() {
                continue;
            }
            let rps = median(ours.iter().map(|r| r.rps));
            let cpu = median(ours.iter().map(|r| r.cpu_s * 1e6 / r.n));
            let vs = |base: &str| ratio_of(&ours, &sel(base, m), |r| r.round, |r| r.rps);
            let (h, n) = (vs("hyper"), vs("node"));
            let _ = writeln!(
                s,
                "{:<5} {:<7} {:>10.0} {:>16} {:>16} {:>12.1}",
                m,
                c,
                rps,
                format!("{:.2} [{:.2}]", h.paired, h.of_medians),
                format!("{:.2} [{:.2}]", n.paired, n.of_medians),
                cpu
            );
            if c == "ours" {
                if let Some(bound) = client_target(m) {
                    verdicts.push(Verdict {
                        what: format!("{m}: req/s x hyper-util"),
                        value: h.value(),
                        bound,
                        at_least: true,
                        context: ratio_context(h, None),
                    });
                }
            }
        }
    }
    (s, verdicts)
}

// ------------------------------------------------------------------ helpers --

/// `cargo build --profile bench-lto ARGS` in the workspace.
fn build(root: &Path, args: &[&str]) -> crate::Result {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--profile", PROFILE])
        .args(args);
    status(&mut cmd).map_err(|e| format!("build failed: {e}"))
}

/// Installs wrk from Debian when it is not on PATH.
fn ensure_wrk() -> crate::Result {
    if on_path("wrk") {
        return Ok(());
    }
    println!("== installing wrk (apt-get install -y wrk)");
    let install = || status(Command::new("apt-get").args(["install", "-y", "wrk"]));
    if install().is_err() {
        status(Command::new("apt-get").arg("update"))?;
        install()?;
    }
    Ok(())
}

fn results_dir(root: &Path, kind: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    root.join(".tools/results").join(format!("{kind}-{secs}"))
}

fn read(path: &Path) -> crate::Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "round\tserver\tmode\trps\tp99_ms\terrors\tpeak_rss_kb\tsrv_us_per_req\tsrv_cpu_pct\twrk_cpu_pct\tother_cpu_pct
1\thyper\tplain\t100000\t1.00\t0\t3400\t8.00\t90\t97\t3
1\tnode\tplain\t40000\t4.00\t0\t66000\t20.00\t99\t60\t2
1\tours\tplain\t110000\t0.90\t0\t3000\t7.20\t88\t98\t4
2\thyper\tplain\t120000\t1.00\t0\t3400\t7.00\t90\t97\t3
2\tnode\tplain\t50000\t4.00\t0\t66000\t21.00\t99\t60\t2
2\tours\tplain\t120000\t0.90\t0\t3000\t7.00\t88\t98\t25
1\thyper\tpipe16\t900000\t-\t0\t3600\t1.00\t98\t84\t1
1\tours\tpipe16\t1000000\t-\t2\t3100\t0.80\t98\t90\t1
";

    #[test]
    fn server_rows_and_ratios() {
        let idle = "hyper IDLE conns=1000 base_kb=2500 loaded_kb=12900 per_conn_bytes=10658 alive=1000\n\
                    ours IDLE conns=1000 base_kb=2400 loaded_kb=9000 per_conn_bytes=6760 alive=1000\n\
                    node\n";
        let s = ServerSummary::parse(TSV, idle).unwrap();
        assert_eq!(s.rows.len(), 8);
        assert_eq!(s.modes(), ["plain", "pipe16"]);
        assert_eq!(s.servers(), ["hyper", "node", "ours"]);
        assert_eq!(s.idle.get("ours"), Some(&6760.0));
        assert_eq!(s.idle.get("node"), None);
        // per round: 1.1 and 1.0 -> median 1.05; medians 115k / 110k
        let r = s.ratio("ours", "hyper", "plain", false);
        assert!((r.paired - 1.05).abs() < 1e-9, "{r:?}");
        assert!((r.of_medians - 115_000.0 / 110_000.0).abs() < 1e-9);
        // CPU: 0.9 and 1.0 -> 0.95
        let c = s.ratio("ours", "hyper", "plain", true);
        assert!((c.paired - 0.95).abs() < 1e-9, "{c:?}");
        let v = s.verdicts();
        let lines: Vec<String> = v.iter().map(Verdict::line).collect();
        assert_eq!(lines.len(), 5, "{lines:?}");
        // Three decimals, and the per-round spread beside the median.
        assert_eq!(
            lines[0], "PASS  plain: req/s x hyper: 1.050 (>= 1.00); rounds 1.000..1.100",
            "{lines:?}"
        );
        assert!(lines[1].starts_with("PASS  plain: server CPU"), "{lines:?}");
        assert!(
            lines[2].starts_with("FAIL  pipe16: req/s x hyper: 1.11"),
            "{lines:?}"
        );
        assert!(lines[3].starts_with("FAIL  pipe16: server CPU per request x hyper: 0.80"));
        assert_eq!(
            lines[4],
            "PASS  RSS per idle keep-alive connection, bytes: 6760 (<= 8192)"
        );
        let report = s.report();
        assert!(report.contains("other% > 20"), "{report}");
        assert!(report.contains("socket errors"), "{report}");
    }

    #[test]
    fn a_verdict_shows_the_raw_anchor_beside_ours() {
        // The raw anchor in both plain rounds: 105k and 126k req/s (1.05 and 1.05 x
        // hyper), 6.4 and 5.95 us/req (0.8 and 0.85 x hyper's CPU).
        let tsv = format!(
            "{TSV}1\traw\tplain\t105000\t0.50\t0\t4000\t6.40\t80\t99\t1\n\
             2\traw\tplain\t126000\t0.50\t0\t4000\t5.95\t80\t99\t1\n"
        );
        let s = ServerSummary::parse(&tsv, "").unwrap();
        let lines: Vec<String> = s.verdicts().iter().map(Verdict::line).collect();
        assert_eq!(
            lines[0],
            "PASS  plain: req/s x hyper: 1.050 (>= 1.00); rounds 1.000..1.100, raw anchor 1.050",
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            "PASS  plain: server CPU per request x hyper: 0.950 (<= 0.95); \
             rounds 0.900..1.000, raw anchor 0.825",
            "{lines:?}"
        );
        // pipe16 has no raw row: no anchor figure there.
        assert!(!lines[2].contains("raw anchor"), "{lines:?}");
    }

    #[test]
    fn another_runtime_is_judged_against_the_tokio_adapter() {
        let mut rows = parse_server_tsv(TSV).unwrap();
        // The "node" rows stand in for the tokio adapter's: 40k and 50k plain req/s.
        for r in &mut rows {
            if r.server == "node" {
                r.server = "tokio".into();
            }
        }
        let mut s = ServerSummary {
            rows,
            idle: BTreeMap::new(),
            runtime: Some("async-std".into()),
        };
        let lines: Vec<String> = s.verdicts().iter().map(Verdict::line).collect();
        // ours / tokio per round: 110/40 and 120/50 -> median 2.575; pipe16 has no
        // tokio row and no verdict; no issue-5 verdicts.
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0]
                == "PASS  plain: async-std req/s x the tokio adapter's: 2.575 (>= 0.90); \
                    rounds 2.400..2.750",
            "{lines:?}"
        );
        assert!(s.report().contains("targets (issue 6)"));
        s.runtime = Some("blocking".into());
        let lines: Vec<String> = s.verdicts().iter().map(Verdict::line).collect();
        assert!(
            lines[0]
                .starts_with("info  plain: blocking req/s x the tokio adapter's: 2.58 (no target)"),
            "{lines:?}"
        );
    }

    #[test]
    fn server_tsv_errors() {
        assert!(parse_server_tsv("").is_err());
        assert!(parse_server_tsv("round\tserver\n1\tx\n").is_err());
        let bad = TSV.replace("110000", "fast");
        assert!(parse_server_tsv(&bad).is_err());
    }

    #[test]
    fn medians() {
        assert!(median([]).is_nan());
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([4.0, 1.0, f64::NAN, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn client_rows_and_verdicts() {
        let tsv = "round\tclient\tmode\tn\tconc\trps\twall_s\tclient_cpu_s
1\thyper\tseq\t20000\t1\t11000\t1.9\t0.80
1\tours\tseq\t20000\t1\t12100\t1.7\t0.70
1\thyper\tconc\t100000\t64\t86000\t1.2\t1.10
1\tours\tconc\t100000\t64\t90300\t1.1\t-
";
        let rows = parse_client_tsv(tsv).unwrap();
        assert_eq!(rows.len(), 4);
        assert!(rows[3].cpu_s.is_nan());
        let r = client_report(&rows);
        assert!(r.contains("PASS  seq: req/s x hyper-util: 1.10"), "{r}");
        // One round: no spread to show.
        assert!(
            r.contains("FAIL  conc: req/s x hyper-util: 1.050 (>= 1.10)\n"),
            "{r}"
        );
    }

    #[test]
    fn flag_parsing() {
        let a: Vec<String> = [
            "--quick", "--rounds", "5", "--nice", "-10", "--modes", "pipe16",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = flags(&a, "", true).unwrap();
        assert!(f.quick && !f.icount);
        assert_eq!(
            (f.rounds, f.nice, f.modes.as_deref()),
            (Some(5), -10, Some("pipe16"))
        );
        assert!(flags(&["--icount".to_string()], "", false).is_err());
        assert!(flags(&["--rounds".to_string()], "", true).is_err());
        let rt = |v: &str| flags(&["--runtime".to_string(), v.to_string()], "", true);
        assert_eq!(rt("blocking").unwrap().runtime.as_deref(), Some("blocking"));
        assert!(rt("glommio").is_err());
        let rep = flags(&["--report".to_string(), "/tmp/r".to_string()], "", false).unwrap();
        assert_eq!(rep.report, [PathBuf::from("/tmp/r")]);
        let two: Vec<String> = ["--report", "/tmp/a", "--report", "/tmp/b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let rep = flags(&two, "", true).unwrap();
        assert_eq!(
            rep.report,
            [PathBuf::from("/tmp/a"), PathBuf::from("/tmp/b")]
        );
        assert!(flags(&["--report".to_string()], "", true).is_err());
    }

    #[test]
    fn a_finished_run_is_reported_again_from_its_directory() {
        let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("results.tsv"), TSV).unwrap();
        let args = ["--report".to_string(), dir.display().to_string()];
        assert!(server(&args).is_ok());
        // The same directory twice: two runs pooled.
        assert!(server(&[&args[..], &args[..]].concat()).is_ok());
        // Not another runtime's run, and not a directory without results.
        let other = [
            &args[..],
            &["--runtime".to_string(), "async-std".to_string()],
        ]
        .concat();
        assert!(server(&other).is_err());
        std::fs::remove_file(dir.join("results.tsv")).unwrap();
        assert!(server(&args).is_err());
        assert!(client(&args).is_err());
        std::fs::remove_dir(&dir).unwrap();
    }

    /// A server run of plain rounds only: hyper at 100k req/s and 5 us/req, ours at
    /// `ratios[r]` of hyper's req/s and 4.5 us/req, and an idle connection's cost.
    fn plain_run(ratios: &[f64], idle_bytes: u32) -> ServerSummary {
        let mut tsv = String::from(TSV.lines().next().unwrap());
        for (r, x) in (1..).zip(ratios) {
            let _ = write!(
                tsv,
                "\n{r}\thyper\tplain\t100000\t1\t0\t3400\t5.00\t90\t97\t1\n\
                 {r}\tours\tplain\t{}\t1\t0\t3000\t4.50\t90\t97\t1",
                100_000.0 * x
            );
        }
        let idle = format!("ours IDLE conns=1000 per_conn_bytes={idle_bytes}\n");
        ServerSummary::parse(&tsv, &idle).unwrap()
    }

    #[test]
    fn mean_and_standard_error() {
        let (mean, se) = mean_and_se(&[1.0, 2.0, 3.0, 4.0]);
        assert!((mean - 2.5).abs() < 1e-12);
        // sample variance 5/3, so se = sqrt(5/3 / 4)
        assert!((se - (5.0_f64 / 12.0).sqrt()).abs() < 1e-12, "{se}");
        assert!(mean_and_se(&[1.0]).0.is_nan() && mean_and_se(&[]).1.is_nan());
    }

    #[test]
    fn pooled_rounds_stay_paired_within_their_run() {
        // Both runs have a round 1: pooled, they must not meet.
        let a = plain_run(&[1.10], 4000);
        let b = plain_run(&[0.90], 5000);
        let rows = pool(vec![a.rows, b.rows], |r| &mut r.round);
        let rounds: Vec<u32> = rows.iter().map(|r| r.round).collect();
        assert_eq!(rounds, [1, 1, 1 + POOL_STRIDE, 1 + POOL_STRIDE]);
    }

    #[test]
    fn several_finished_runs_are_pooled_and_each_run_judged() {
        // Run one passes plain req/s (median 1.05), run two does not (0.95); pooled,
        // the median of the ten pairs is 1.005 (0.99 and 1.02 in the middle), and with
        // ten pairs the mean (0.999) and its standard error are shown.
        let one = plain_run(&[1.02, 1.05, 1.06, 1.04, 1.08], 4000);
        let two = plain_run(&[0.94, 0.95, 0.96, 0.90, 0.99], 6000);
        let report = ServerSummary::report_runs(vec![one, two]);
        assert!(report.starts_with("== 2 runs pooled"), "{report}");
        let line = |what: &str| {
            report
                .lines()
                .find(|l| l.contains(what))
                .unwrap_or_else(|| panic!("no `{what}` in {report}"))
                .to_string()
        };
        assert_eq!(
            line("plain: req/s"),
            "PASS  plain: req/s x hyper: 1.005 (>= 1.00); rounds 0.900..1.080, \
             mean 0.999 +- 0.019 (s.e.); 1 of 2 runs pass"
        );
        assert!(
            line("plain: server CPU").ends_with("; 2 of 2 runs pass"),
            "{report}"
        );
        // The idle cost is the median of the runs' (4000 and 6000 bytes).
        assert_eq!(
            line("RSS per idle"),
            "PASS  RSS per idle keep-alive connection, bytes: 5000 (<= 8192); 2 of 2 runs pass"
        );
        // One run alone is reported as before: no pooling, no run count.
        let alone = ServerSummary::report_runs(vec![plain_run(&[1.02, 1.05], 4000)]);
        assert!(
            !alone.contains("pooled") && !alone.contains("runs pass"),
            "{alone}"
        );
    }

    #[test]
    fn several_client_runs_are_pooled() {
        let run = |ours: f64| {
            parse_client_tsv(&format!(
                "round\tclient\tmode\tn\tconc\trps\twall_s\tclient_cpu_s\n\
                 1\thyper\tconc\t100000\t64\t100000\t1\t1\n\
                 1\tours\tconc\t100000\t64\t{ours}\t1\t1\n"
            ))
            .unwrap()
        };
        // 1.2 and 1.0 x hyper-util: the pooled median 1.1 meets the target, one run
        // alone does.
        let r = client_report_runs(vec![run(120_000.0), run(100_000.0)]);
        assert!(r.starts_with("== 2 runs pooled"), "{r}");
        assert!(
            r.contains(
                "PASS  conc: req/s x hyper-util: 1.100 (>= 1.10); rounds 1.000..1.200; \
                 1 of 2 runs pass\n"
            ),
            "{r}"
        );
    }
}
