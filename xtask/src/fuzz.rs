//! `cargo xtask fuzz`: libFuzzer through cargo-fuzz on stable (`-s none`), seed
//! generation from the llhttp corpus and the oracle samples, and crash minimisation.
//!
//! The seed files carry the knob bytes that `courier_proto::fuzzing` reads first
//! (documented there); [`knobs`] below writes the same layout.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

/// The cargo-fuzz release known to build and run on this toolchain.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per run when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

const USAGE: &str = "usage: cargo xtask fuzz <command>

  list                          the fuzz targets
  seeds [--check]               regenerate fuzz/seeds/<target>/ (or verify they are current)
  TARGET [--seconds N] [--jobs J] [-- LIBFUZZER_ARGS...]
                                run a target (libFuzzer, no sanitizer) for N seconds (default 60)
  tmin TARGET CRASH_FILE        minimise a crash and save it under fuzz/regressions/TARGET/
";

pub(crate) fn run(args: &[String]) -> crate::Result {
    match args.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            Ok(())
        }
        Some("list") => {
            for t in targets()? {
                println!("{t}");
            }
            Ok(())
        }
        Some("seeds") => seeds(args.get(1).is_some_and(|a| a == "--check")),
        Some("tmin") => match args {
            [_, target, file] => tmin(target, Path::new(file)),
            _ => Err(format!("tmin needs TARGET and CRASH_FILE\n{USAGE}")),
        },
        Some(target) => fuzz(target, &args[1..]),
    }
}

fn fuzz_dir() -> PathBuf {
    crate::root().join("fuzz")
}

/// The target names: the stems of `fuzz/fuzz_targets/*.rs`.
fn targets() -> crate::Result<Vec<String>> {
    let dir = fuzz_dir().join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "rs").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

fn check_target(target: &str) -> crate::Result {
    let all = targets()?;
    if all.iter().any(|t| t == target) {
        Ok(())
    } else {
        Err(format!(
            "unknown fuzz target `{target}` (targets: {})\n{USAGE}",
            all.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------------
// running

fn fuzz(target: &str, args: &[String]) -> crate::Result {
    check_target(target)?;
    let mut seconds = DEFAULT_SECONDS;
    let mut jobs = 1u32;
    let mut extra: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--seconds" => {
                seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?;
            }
            "--jobs" => {
                jobs = value("--jobs")?
                    .parse()
                    .map_err(|e| format!("--jobs: {e}"))?;
            }
            "--" => {
                extra.extend(it.by_ref().cloned());
            }
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }

    let path_var = ensure_cargo_fuzz()?;
    let fuzz = fuzz_dir();
    let corpus = fuzz.join("corpus").join(target);
    fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut dirs = vec![corpus, fuzz.join("seeds").join(target)];
    let regressions = fuzz.join("regressions").join(target);
    if regressions.is_dir() {
        dirs.push(regressions);
    }

    let mut cmd = cargo();
    cmd.current_dir(crate::root())
        .env("PATH", &path_var)
        .args(["fuzz", "run", target, "-s", "none"]);
    if jobs > 1 {
        cmd.args(["--jobs", &jobs.to_string()]);
    }
    cmd.args(&dirs).arg("--").args([
        format!("-dict={}", fuzz.join("dict").join("http1.dict").display()),
        format!("-max_total_time={seconds}"),
        "-print_final_stats=1".to_owned(),
        "-timeout=10".to_owned(),
    ]);
    cmd.args(&extra);
    cmd.stderr(Stdio::piped());
    eprintln!("xtask fuzz: {cmd:?}");

    let mut child = cmd.spawn().map_err(|e| format!("cargo fuzz: {e}"))?;
    let mut stats = Stats::default();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            stats.observe(&line);
        }
    }
    let status = child.wait().map_err(|e| format!("cargo fuzz: {e}"))?;

    println!("{}", stats.summary(target, seconds));
    if !stats.findings.is_empty() {
        let mut msg = format!("{} finding(s):", stats.findings.len());
        for f in &stats.findings {
            msg.push_str(&format!(
                "\n  {f}\n    minimise: cargo xtask fuzz tmin {target} {f}"
            ));
        }
        return Err(msg);
    }
    if !status.success() {
        return Err(format!("cargo fuzz exited with {status}"));
    }
    Ok(())
}

/// What the libFuzzer output said.
#[derive(Debug, Default)]
struct Stats {
    /// The last status line (`#N  DONE cov: …` or `#N  pulse …`).
    last_status: Option<String>,
    execs: Option<u64>,
    execs_per_sec: Option<u64>,
    new_units: Option<u64>,
    peak_rss_mb: Option<u64>,
    findings: Vec<String>,
}

impl Stats {
    fn observe(&mut self, line: &str) {
        let line = line.trim();
        if line.starts_with('#') && line.contains("cov:") {
            self.last_status = Some(line.to_owned());
        } else if let Some(rest) = line.strip_prefix("stat::") {
            let Some((key, value)) = rest.split_once(':') else {
                return;
            };
            let value = value.trim().parse().ok();
            match key {
                "number_of_executed_units" => self.execs = value,
                "average_exec_per_sec" => self.execs_per_sec = value,
                "new_units_added" => self.new_units = value,
                "peak_rss_mb" => self.peak_rss_mb = value,
                _ => {}
            }
        } else if let Some(idx) = line.find("Test unit written to ") {
            let path = line[idx + "Test unit written to ".len()..].trim();
            if !self.findings.iter().any(|f| f == path) {
                self.findings.push(path.to_owned());
            }
        }
    }

    /// A field of the last status line, e.g. `cov` or `exec/s`.
    fn status_field(&self, key: &str) -> Option<&str> {
        let line = self.last_status.as_deref()?;
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w.strip_suffix(':') == Some(key) {
                return words.next();
            }
        }
        None
    }

    fn status_execs(&self) -> Option<u64> {
        let first = self.last_status.as_deref()?.split_whitespace().next()?;
        first
            .trim_start_matches('#')
            .trim_end_matches(':')
            .parse()
            .ok()
    }

    fn summary(&self, target: &str, seconds: u64) -> String {
        let execs = self.execs.or_else(|| self.status_execs());
        let rate = self
            .execs_per_sec
            .map(|r| r.to_string())
            .or_else(|| self.status_field("exec/s").map(str::to_owned));
        let show = |v: Option<String>| v.unwrap_or_else(|| "?".to_owned());
        format!(
            "fuzz {target}: {} execs in ≤{seconds} s, {} exec/s, cov: {}, ft: {}, corpus: {}, new units: {}, peak rss: {} MB, findings: {}",
            show(execs.map(|e| e.to_string())),
            show(rate),
            show(self.status_field("cov").map(str::to_owned)),
            show(self.status_field("ft").map(str::to_owned)),
            show(self.status_field("corp").map(str::to_owned)),
            show(self.new_units.map(|n| n.to_string())),
            show(self.peak_rss_mb.map(|n| n.to_string())),
            self.findings.len(),
        )
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Installs cargo-fuzz into `.tools/` when it is missing or another version, and
/// returns a `PATH` with `.tools/bin` first.
fn ensure_cargo_fuzz() -> crate::Result<std::ffi::OsString> {
    let tools = crate::root().join(".tools");
    let bin = tools.join("bin");
    let exe = bin.join("cargo-fuzz");
    let current = Command::new(&exe)
        .args(["fuzz", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if !current.is_some_and(|v| v.contains(CARGO_FUZZ_VERSION)) {
        eprintln!(
            "xtask fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION} into {}",
            tools.display()
        );
        let status = cargo()
            .args([
                "install",
                "--locked",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
            ])
            .arg("--root")
            .arg(&tools)
            .status()
            .map_err(|e| format!("cargo install: {e}"))?;
        if !status.success() {
            return Err(format!("cargo install cargo-fuzz failed: {status}"));
        }
    }
    let mut paths = vec![bin];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(paths).map_err(|e| format!("PATH: {e}"))
}

/// `cargo fuzz tmin`, then copies the smallest result to `fuzz/regressions/TARGET/`.
fn tmin(target: &str, crash: &Path) -> crate::Result {
    check_target(target)?;
    let crash = fs::canonicalize(crash).map_err(|e| format!("{}: {e}", crash.display()))?;
    let path_var = ensure_cargo_fuzz()?;
    let artifacts = fuzz_dir().join("artifacts").join(target);
    let before = minimized_files(&artifacts);
    let status = cargo()
        .current_dir(crate::root())
        .env("PATH", &path_var)
        .args(["fuzz", "tmin", "-s", "none", target])
        .arg(&crash)
        .status()
        .map_err(|e| format!("cargo fuzz tmin: {e}"))?;
    if !status.success() {
        return Err(format!("cargo fuzz tmin exited with {status}"));
    }
    let smallest = minimized_files(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .filter_map(|p| Some((fs::metadata(&p).ok()?.len(), p)))
        .min()
        .map(|(_, p)| p)
        .unwrap_or(crash.clone());
    let bytes = fs::read(&smallest).map_err(|e| format!("{}: {e}", smallest.display()))?;
    let dir = fuzz_dir().join("regressions").join(target);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join(format!("crash-{:08x}", fnv32(&bytes)));
    fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "saved {} ({} bytes) from {}",
        out.display(),
        bytes.len(),
        smallest.display()
    );
    Ok(())
}

fn minimized_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("minimized-from-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------
// seeds

/// How a seed's knob bytes are chosen (see `courier_proto::fuzzing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Knobs {
    /// llhttp leniency names mapped to flag bits (0 = strict).
    lenient_bits: u16,
    /// Take the leftover on an upgrade instead of resuming.
    take_leftover: bool,
    /// Response context for every response: 0 GET, 1 HEAD, 2 CONNECT.
    context: u8,
}

/// Encodes the four knob bytes; limits stay at their defaults.
fn knobs(k: Knobs) -> [u8; 4] {
    let mut b0 = if k.lenient_bits != 0 { 2 } else { 0 };
    if k.take_leftover {
        b0 |= 0x80;
    }
    let ctx = k.context & 3;
    let [lo, hi] = k.lenient_bits.to_le_bytes();
    [b0, 0, lo, (hi & 3) | (ctx << 2) | (ctx << 4) | (ctx << 6)]
}

/// The knob bytes of a `client_conn` seed (see `courier_proto::fuzzing::client_conn`):
/// the first request (0 GET, 1 HEAD, 2 CONNECT, 3 POST with `Expect:
/// 100-continue`), both listeners for an upgrade case, the insecure parser for a
/// lenient one; the default `maxHeaderSize`, the whole stream then EOF, no time.
fn client_knobs(k: Knobs, upgrade: bool, method: u8) -> [u8; 4] {
    let mut b0 = method & 3;
    if upgrade {
        b0 |= 0b1100;
    }
    if k.lenient_bits != 0 {
        b0 |= 0x10;
    }
    [b0, 0, 255, 0]
}

/// The bit of an llhttp leniency name in the knob flags (`Lenient` field order).
fn lenient_bit(name: &str) -> Option<u16> {
    let i = match name {
        "headers" => 0,
        "chunked-length" => 1,
        "keep-alive" => 2,
        "transfer-encoding" => 3,
        "version" => 4,
        "data-after-close" => 5,
        "optional-lf-after-cr" => 6,
        "optional-cr-before-lf" => 7,
        "optional-crlf-after-chunk" => 8,
        "spaces-after-chunk-size" => 9,
        _ => return None,
    };
    Some(1 << i)
}

/// One input from the shared corpora.
struct Case {
    /// `llhttp-…` or `sample-…`, from the case id.
    name: String,
    kind: &'static str,
    input: Vec<u8>,
    knobs: Knobs,
}

fn load_cases() -> crate::Result<Vec<Case>> {
    let shared = crate::shared();
    let mut files: Vec<(PathBuf, &str)> = Vec::new();
    let llhttp = shared.join("conformance").join("llhttp");
    let mut names: Vec<PathBuf> = fs::read_dir(&llhttp)
        .map_err(|e| format!("{}: {e}", llhttp.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    names.sort();
    files.extend(names.into_iter().map(|p| (p, "llhttp")));
    let samples = shared.join("tools").join("samples");
    for file in ["oracle-server-smoke.jsonl", "oracle-client-smoke.jsonl"] {
        files.push((samples.join(file), "sample"));
    }

    let mut cases = Vec::new();
    for (path, source) in files {
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file_kind = if path.to_string_lossy().contains("client") {
            "response"
        } else {
            "request"
        };
        for (lineno, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}:{}: {e}", path.display(), lineno + 1))?;
            let input = base64::engine::general_purpose::STANDARD
                .decode(v["input_b64"].as_str().unwrap_or_default())
                .map_err(|e| format!("{}:{}: {e}", path.display(), lineno + 1))?;
            let kind = match (source, v["kind"].as_str()) {
                ("llhttp", Some("request")) => "request",
                ("llhttp", Some("response")) => "response",
                ("llhttp", Some("url")) => "url",
                ("llhttp", _) => continue,
                _ => file_kind,
            };
            let mut k = Knobs::default();
            for name in v["lenient"].as_array().into_iter().flatten() {
                k.lenient_bits |= name.as_str().and_then(lenient_bit).unwrap_or(0);
            }
            if v["mode"]["skip_body"].as_bool() == Some(true) {
                k.context = 1;
            }
            match v["method"].as_str() {
                Some("HEAD") => k.context = 1,
                Some("CONNECT") => k.context = 2,
                _ => {}
            }
            let id = v["id"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or(lineno.to_string());
            cases.push(Case {
                name: format!("{source}-{}", slug(&id)),
                kind,
                input,
                knobs: k,
            });
        }
    }
    Ok(cases)
}

/// The seed files per target, by file name.
fn seed_set() -> crate::Result<BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>> {
    let mut out: BTreeMap<&'static str, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let mut add = |target: &'static str, name: &str, k: [u8; 4], body: &[u8]| {
        let mut bytes = k.to_vec();
        bytes.extend_from_slice(body);
        let set = out.entry(target).or_default();
        if set.values().any(|b| *b == bytes) {
            return;
        }
        set.insert(format!("{name}-{:08x}", fnv32(&bytes)), bytes);
    };
    for case in load_cases()? {
        let input = &case.input;
        let lower = input.to_ascii_lowercase();
        let upgrade = contains(&lower, b"upgrade")
            || input.starts_with(b"CONNECT")
            || contains(input, b" 101 ")
            || case.knobs.context == 2;
        match case.kind {
            "url" => {
                let mut req = b"GET ".to_vec();
                req.extend_from_slice(input);
                req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
                add("request_parse", &case.name, knobs(case.knobs), &req);
            }
            "request" | "response" => {
                let target = if case.kind == "request" {
                    "request_parse"
                } else {
                    "response_parse"
                };
                add(target, &case.name, knobs(case.knobs), input);
                if case.kind == "request" && case.knobs == Knobs::default() {
                    // server_conn: listeners for upgrades, 256-byte reads, answer at End.
                    let listeners = if upgrade { 0b1100 } else { 0 };
                    add("server_conn", &case.name, [listeners, 255, 0, 0], input);
                }
                if case.kind == "response" {
                    // client_conn: the request the case answers, both listeners for
                    // upgrades, the whole stream then EOF; a 1xx also answers a held
                    // `POST` with `Expect: 100-continue`.
                    let first = client_knobs(case.knobs, upgrade, case.knobs.context);
                    add("client_conn", &case.name, first, input);
                    if input.starts_with(b"HTTP/1.1 1") && !input.starts_with(b"HTTP/1.1 101") {
                        let post = client_knobs(case.knobs, upgrade, 3);
                        add("client_conn", &format!("{}-post", case.name), post, input);
                    }
                }
                if upgrade {
                    let take = Knobs {
                        take_leftover: true,
                        ..case.knobs
                    };
                    add(target, &format!("{}-take", case.name), knobs(take), input);
                }
                if case.kind == "response" && case.knobs.context == 0 {
                    let connect = Knobs {
                        context: 2,
                        ..case.knobs
                    };
                    if input.starts_with(b"HTTP/1.1 200") && !upgrade {
                        add(
                            target,
                            &format!("{}-connect", case.name),
                            knobs(connect),
                            input,
                        );
                    }
                }
                // chunked_decode: the bytes after the first head of a chunked message.
                if contains(&lower, b"chunked")
                    && let Some(at) = find(input, b"\r\n\r\n")
                {
                    let body = &input[at + 4..];
                    if !body.is_empty() {
                        add("chunked_decode", &case.name, knobs(case.knobs), body);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn seeds(check: bool) -> crate::Result {
    let set = seed_set()?;
    let root = fuzz_dir().join("seeds");
    let mut stale = Vec::new();
    for target in targets()? {
        let wanted = set.get(target.as_str()).cloned().unwrap_or_default();
        let dir = root.join(&target);
        let mut present: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        if let Ok(rd) = fs::read_dir(&dir) {
            for e in rd.filter_map(|e| e.ok()) {
                let p = e.path();
                if let (Some(n), Ok(b)) = (p.file_name().and_then(|n| n.to_str()), fs::read(&p)) {
                    present.insert(n.to_owned(), b);
                }
            }
        }
        if present == wanted {
            println!("{target}: {} seeds, up to date", wanted.len());
            continue;
        }
        if check {
            stale.push(target);
            continue;
        }
        for name in present.keys().filter(|n| !wanted.contains_key(*n)) {
            let p = dir.join(name);
            fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in &wanted {
            if present.get(name) != Some(bytes) {
                let p = dir.join(name);
                fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            }
        }
        println!("{target}: wrote {} seeds", wanted.len());
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "seeds out of date for {}: run `cargo xtask fuzz seeds`",
            stale.join(", ")
        ))
    }
}

/// A file-name-safe form of a case id: lower-case alphanumerics and single dashes.
fn slug(id: &str) -> String {
    let mut s = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    let s = s.trim_matches('-');
    let s = s.strip_suffix("-md").unwrap_or(s);
    let mut s: String = s.replace("-md-", "-").chars().take(60).collect();
    while s.ends_with('-') {
        s.pop();
    }
    s
}

/// FNV-1a, 32 bits: a short stable name for a byte string.
pub(crate) fn fnv32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_bytes() {
        assert_eq!(knobs(Knobs::default()), [0, 0, 0, 0]);
        let k = Knobs {
            lenient_bits: lenient_bit("headers").unwrap()
                | lenient_bit("spaces-after-chunk-size").unwrap(),
            take_leftover: true,
            context: 1,
        };
        assert_eq!(knobs(k), [0x82, 0, 1, 0b0101_0110]);
    }

    #[test]
    fn client_knob_bytes() {
        assert_eq!(client_knobs(Knobs::default(), false, 0), [0, 0, 255, 0]);
        let lenient = Knobs {
            lenient_bits: 1,
            ..Knobs::default()
        };
        assert_eq!(client_knobs(lenient, true, 2), [0b1_1110, 0, 255, 0]);
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("request/sample.md#simple-request"),
            "request-sample-simple-request"
        );
        assert_eq!(slug("no-host-11"), "no-host-11");
    }

    #[test]
    fn stats_parse_final_lines() {
        let mut s = Stats::default();
        s.observe("#1234\tDONE   cov: 812 ft: 3301 corp: 410/52Kb lim: 4096 exec/s: 20 rss: 60Mb");
        s.observe("stat::number_of_executed_units: 1234");
        s.observe("stat::average_exec_per_sec:     20");
        s.observe(
            "artifact_prefix='fuzz/artifacts/x/'; Test unit written to fuzz/artifacts/x/crash-ab",
        );
        assert_eq!(s.execs, Some(1234));
        assert_eq!(s.status_field("cov"), Some("812"));
        assert_eq!(s.status_execs(), Some(1234));
        assert_eq!(s.findings, ["fuzz/artifacts/x/crash-ab"]);
    }
}
