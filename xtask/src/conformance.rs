//! `cargo xtask conformance`: the llhttp corpus through proto, compared with
//! what Node v20 does with the same bytes.
//!
//! * `cargo xtask conformance [--verbose] [--case ID]` compares proto with the
//!   checked-in Node fixtures (`conformance/node20/*.jsonl`) and prints a table.
//!   It fails when a difference is not in `conformance/expected-differences.txt`
//!   or an entry there no longer differs.
//! * `cargo xtask conformance --record [--check]` re-creates the fixtures by
//!   running every case through real Node (`../shared/tools/node-oracle.js`);
//!   `--check` compares instead of writing.
//!
//! See `docs/conformance.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub(crate) mod corpus;
pub(crate) mod expected;
pub(crate) mod outcome;
pub(crate) mod record;
mod run;

use corpus::Case;
use outcome::{Category, Comparison, Outcome};

const USAGE: &str = "usage: cargo xtask conformance [--verbose] [--case ID]
       cargo xtask conformance --record [--check]

  (no flag)   run the llhttp corpus through proto and compare with the Node v20 fixtures
  --verbose   print every difference with the Node and proto results side by side
  --case ID   run one case (an id from the corpus) and print both results in full
  --record    re-record the Node v20 fixtures with ../shared/tools/node-oracle.js (needs node)
  --check     with --record: compare a fresh recording with the fixtures, write nothing";

/// The folder of the converted llhttp corpus.
pub(crate) fn corpus_dir(shared: &Path) -> PathBuf {
    shared.join("conformance").join("llhttp")
}

/// The folder of the Node fixtures, one file per corpus file.
fn fixture_dir(root: &Path) -> PathBuf {
    root.join("conformance").join("node20")
}

/// The list of differences kept on purpose.
fn expected_path(root: &Path) -> PathBuf {
    root.join("conformance").join("expected-differences.txt")
}

pub(crate) fn run(args: &[String]) -> crate::Result {
    let mut verbose = false;
    let mut record = false;
    let mut check = false;
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--verbose" | "-v" => verbose = true,
            "--record" => record = true,
            "--check" => check = true,
            "--case" => only = Some(it.next().ok_or("--case needs an id")?.clone()),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if check && !record {
        return Err("--check goes with --record".into());
    }
    let root = crate::root();
    let shared = crate::shared();
    let cases = corpus::load(&corpus_dir(&shared))?;
    if record {
        return record_fixtures(&root, &shared, &cases, check);
    }
    let fixtures = load_fixtures(&fixture_dir(&root), &cases)?;
    let expected = expected::load(&expected_path(&root))?;
    if let Some(id) = only {
        let case = cases
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| format!("no case `{id}` in the corpus"))?;
        let r = evaluate(case, &fixtures[&case.id]);
        print!("{}", r.detail(expected.get(&case.id).map(String::as_str)));
        return if r.cmp.agrees() {
            Ok(())
        } else {
            Err("differs from Node v20".into())
        };
    }
    let results: Vec<CaseResult<'_>> = cases
        .iter()
        .map(|c| evaluate(c, &fixtures[&c.id]))
        .collect();
    let report = Report::new(&results, &expected);
    print!("{}", report.render(verbose));
    report.verdict()
}

// ------------------------------------------------------------------ fixtures --

/// Writes (or with `check`, compares) `conformance/node20/<file>.jsonl`.
fn record_fixtures(root: &Path, shared: &Path, cases: &[Case], check: bool) -> crate::Result {
    let refs: Vec<&Case> = cases.iter().collect();
    let outcomes = record::record(shared, &refs)?;
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for (c, o) in cases.iter().zip(&outcomes) {
        let mut head = json!({
            "oracle": format!("node-oracle.js {}", record::oracle_args(c).join(" ")),
        });
        if c.side == corpus::Side::Client {
            head["method"] = json!(c.method);
        }
        if c.derived() {
            head["derived"] = json!("URL embedded as `GET <url> HTTP/1.1` + `Host: example.com`");
        }
        let text = files.entry(&c.file).or_default();
        let _ = writeln!(
            text,
            "{}",
            record::line_with_id(&c.id, &[&head, &o.to_json()])
        );
    }
    let dir = fixture_dir(root);
    let mut stale = Vec::new();
    for (file, text) in &files {
        let path = dir.join(format!("{file}.jsonl"));
        if !crate::write_or_check(&path, text, check)? {
            stale.push(path.display().to_string());
        }
    }
    if check {
        if stale.is_empty() {
            println!(
                "fixtures match a fresh Node recording ({} cases)",
                cases.len()
            );
            return Ok(());
        }
        return Err(format!(
            "fixtures differ from a fresh recording: {}",
            stale.join(", ")
        ));
    }
    let version = std::process::Command::new("node")
        .args([
            "-p",
            "process.version + ' llhttp ' + process.versions.llhttp",
        ])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    println!(
        "recorded {} cases with Node {version} into {}",
        cases.len(),
        dir.display()
    );
    Ok(())
}

/// Reads every fixture file; every corpus case must have exactly one line.
fn load_fixtures(dir: &Path, cases: &[Case]) -> crate::Result<BTreeMap<String, Outcome>> {
    let mut out = BTreeMap::new();
    let mut files: Vec<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    files.dedup();
    for file in files {
        let path = dir.join(format!("{file}.jsonl"));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (record the Node fixtures with `cargo xtask conformance --record`)",
                path.display()
            )
        })?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = || format!("{}:{}", path.display(), n + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| format!("{}: {e}", at()))?;
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{}: no id", at()))?
                .to_owned();
            let o = Outcome::from_json(&v).map_err(|e| format!("{}: {e}", at()))?;
            out.insert(id, o);
        }
    }
    if let Some(c) = cases.iter().find(|c| !out.contains_key(&c.id)) {
        return Err(format!(
            "no Node fixture for `{}`: re-record with `cargo xtask conformance --record`",
            c.id
        ));
    }
    if out.len() != cases.len() {
        return Err(format!(
            "{} fixture lines for {} corpus cases: re-record",
            out.len(),
            cases.len()
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------- comparison --

/// One case: Node's outcome, ours, and how they compare.
pub(crate) struct CaseResult<'a> {
    case: &'a Case,
    node: &'a Outcome,
    proto: Outcome,
    cmp: Comparison,
    /// Proto's category (and error code, for rejections) equals llhttp 9.4.2's
    /// expectation from the corpus.
    llhttp_agrees: bool,
}

/// Runs one case through proto and compares it with Node's fixture. A panic in
/// the parser is caught and becomes a difference.
fn evaluate<'a>(case: &'a Case, node: &'a Outcome) -> CaseResult<'a> {
    let proto = crate::catch_panic(|| run::run(case)).unwrap_or_else(|msg| Outcome {
        category: Category::Reject,
        error: Some(outcome::ErrorInfo {
            code: "PANIC".into(),
            reason: msg,
            offset: None,
        }),
        messages: Vec::new(),
        upgrade_head: None,
        notes: Vec::new(),
    });
    let cmp = outcome::compare(node, &proto);
    let ll = &case.llhttp;
    let llhttp_agrees = ll.category == proto.category
        && (ll.category != Category::Reject
            || ll.error.as_ref().map(|e| &e.code) == proto.error.as_ref().map(|e| &e.code));
    CaseResult {
        case,
        node,
        proto,
        cmp,
        llhttp_agrees,
    }
}

impl CaseResult<'_> {
    /// Everything about the case, for `--case` and `--verbose`.
    fn detail(&self, listed: Option<&str>) -> String {
        let c = self.case;
        let mut s = format!(
            "{}\n  input   {}\n  config  {}{}\n  node    {}\n  proto   {}\n  llhttp  {}{}\n",
            c.id,
            outcome::show(&c.input),
            if c.insecure() {
                format!("insecure (corpus lenient: {})", c.lenient.join(","))
            } else {
                "strict".into()
            },
            if c.side == corpus::Side::Client {
                format!(", client sent {}", c.method)
            } else {
                ", as a server".into()
            },
            self.node.describe(),
            self.proto.describe(),
            c.llhttp.category.as_str(),
            c.llhttp
                .error
                .as_ref()
                .map(|e| format!(" {} \"{}\"", e.code, e.reason))
                .unwrap_or_default(),
        );
        if self.cmp.agrees() {
            s += "  => agrees with Node v20\n";
        } else {
            s += "  => differs from Node v20:\n";
            for d in &self.cmp.diffs {
                let _ = writeln!(s, "    {d}");
            }
        }
        if let Some((n, p)) = self.cmp.offset_mismatch {
            let _ = writeln!(s, "  error offset: node {n:?}, proto {p:?}");
        }
        match (listed, self.cmp.agrees()) {
            (Some(r), false) => {
                let _ = writeln!(s, "  expected difference: {r}");
            }
            (Some(r), true) => {
                let _ = writeln!(s, "  STALE expected difference (no longer differs): {r}");
            }
            (None, false) => s += "  NOT in conformance/expected-differences.txt\n",
            (None, true) => {}
        }
        s
    }
}

/// The whole run: per-file counts, the differences and the list's health.
pub(crate) struct Report<'a> {
    results: &'a [CaseResult<'a>],
    expected: &'a expected::Expected,
    /// Differences not on the list.
    unlisted: Vec<&'a str>,
    /// List entries that no longer differ.
    stale: Vec<&'a str>,
    /// List entries naming no corpus case.
    unknown: Vec<&'a str>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(results: &'a [CaseResult<'a>], expected: &'a expected::Expected) -> Self {
        let unlisted = results
            .iter()
            .filter(|r| !r.cmp.agrees() && !expected.contains_key(&r.case.id))
            .map(|r| r.case.id.as_str())
            .collect();
        let stale = results
            .iter()
            .filter(|r| r.cmp.agrees() && expected.contains_key(&r.case.id))
            .map(|r| r.case.id.as_str())
            .collect();
        let unknown = expected
            .keys()
            .filter(|id| !results.iter().any(|r| &r.case.id == *id))
            .map(String::as_str)
            .collect();
        Self {
            results,
            expected,
            unlisted,
            stale,
            unknown,
        }
    }

    /// `Err` when the list and the results disagree, or an error offset differs.
    pub(crate) fn verdict(&self) -> crate::Result {
        let mut problems = Vec::new();
        if !self.unlisted.is_empty() {
            problems.push(format!(
                "{} difference(s) from Node v20 not in conformance/expected-differences.txt: {}",
                self.unlisted.len(),
                self.unlisted.join(", ")
            ));
        }
        if !self.stale.is_empty() {
            problems.push(format!(
                "{} stale expected difference(s) (they agree with Node now; remove them): {}",
                self.stale.len(),
                self.stale.join(", ")
            ));
        }
        let offsets: Vec<String> = self
            .results
            .iter()
            .filter_map(|r| {
                r.cmp
                    .offset_mismatch
                    .map(|(n, p)| format!("{} (node {n:?}, proto {p:?})", r.case.id))
            })
            .collect();
        if !offsets.is_empty() {
            problems.push(format!(
                "{} error offset(s) differ from Node's bytesParsed (they must stay exact): {}",
                offsets.len(),
                offsets.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            problems.push(format!(
                "expected-differences.txt names unknown case(s): {}",
                self.unknown.join(", ")
            ));
        }
        crate::verdict(problems)
    }

    /// The table, then the differences (in full with `verbose`).
    pub(crate) fn render(&self, verbose: bool) -> String {
        #[derive(Default, Clone, Copy)]
        struct Row {
            cases: usize,
            agree: usize,
            differ: usize,
            listed: usize,
            offset: usize,
            llhttp: usize,
        }
        let mut rows: Vec<(&str, Row)> = Vec::new();
        for r in self.results {
            let name = if r.case.derived() {
                "url (derived)"
            } else {
                r.case.file.as_str()
            };
            if rows.last().is_none_or(|(n, _)| *n != name) {
                rows.push((name, Row::default()));
            }
            let row = &mut rows.last_mut().expect("pushed").1;
            row.cases += 1;
            if r.cmp.agrees() {
                row.agree += 1;
            } else {
                row.differ += 1;
                if self.expected.contains_key(&r.case.id) {
                    row.listed += 1;
                }
            }
            row.offset += usize::from(r.cmp.offset_mismatch.is_some());
            row.llhttp += usize::from(r.llhttp_agrees);
        }
        let mut total = Row::default();
        for (_, r) in &rows {
            total.cases += r.cases;
            total.agree += r.agree;
            total.differ += r.differ;
            total.listed += r.listed;
            total.offset += r.offset;
            total.llhttp += r.llhttp;
        }
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<38} {:>5} {:>6} {:>6} {:>9} {:>7} {:>7}",
            "file", "cases", "agree", "differ", "expected", "offset≠", "=llhttp"
        );
        let line = |s: &mut String, name: &str, r: Row| {
            let _ = writeln!(
                s,
                "{:<38} {:>5} {:>6} {:>6} {:>9} {:>7} {:>7}",
                name, r.cases, r.agree, r.differ, r.listed, r.offset, r.llhttp
            );
        };
        for (name, r) in &rows {
            line(&mut s, name, *r);
        }
        line(&mut s, "total", total);
        let lenient: Vec<&CaseResult<'_>> =
            self.results.iter().filter(|r| r.case.insecure()).collect();
        let _ = writeln!(
            s,
            "\nlenient cases (run as insecureHTTPParser, all leniencies on): {}; agree with Node v20: {}; \
             match llhttp 9.4.2's own expectation (one leniency on): {}",
            lenient.len(),
            lenient.iter().filter(|r| r.cmp.agrees()).count(),
            lenient.iter().filter(|r| r.llhttp_agrees).count()
        );
        let differing: Vec<&CaseResult<'_>> =
            self.results.iter().filter(|r| !r.cmp.agrees()).collect();
        if !differing.is_empty() {
            let _ = writeln!(s, "\ndifferences from Node v20:");
        }
        for r in &differing {
            let listed = self.expected.get(&r.case.id);
            if verbose {
                s += "\n";
                s += &r.detail(listed.map(String::as_str));
            } else {
                let first = r.cmp.diffs[0].lines().next().unwrap_or_default();
                let _ = writeln!(
                    s,
                    "  {} [{}] {}: node {} / proto {}",
                    if listed.is_some() {
                        "expected"
                    } else {
                        "NEW     "
                    },
                    r.case.id,
                    first.trim_end_matches(':'),
                    summary(r.node),
                    summary(&r.proto),
                );
            }
        }
        if verbose {
            let offsets: Vec<_> = self
                .results
                .iter()
                .filter_map(|r| r.cmp.offset_mismatch.map(|o| (r.case.id.as_str(), o)))
                .collect();
            if !offsets.is_empty() {
                let _ = writeln!(s, "\nerror offsets that differ (same code and reason):");
                for (id, (n, p)) in offsets {
                    let _ = writeln!(s, "  {id}: node {n:?}, proto {p:?}");
                }
            }
        }
        for id in &self.stale {
            let _ = writeln!(
                s,
                "  STALE    [{id}] listed as a difference but agrees with Node now"
            );
        }
        s
    }
}

/// One-line summary of an outcome for the short list.
fn summary(o: &Outcome) -> String {
    match &o.error {
        Some(e) => format!("{} {}", o.category.as_str(), e.code),
        None => format!("{} ({} msg)", o.category.as_str(), o.messages.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conformance gate: every case is compared with the Node fixture, in
    /// process, without Node. A difference not on the list fails, and so does a
    /// listed difference that has gone away.
    #[test]
    fn llhttp_corpus_matches_node20_or_is_an_expected_difference() {
        let shared = crate::shared();
        let dir = corpus_dir(&shared);
        assert!(
            dir.is_dir(),
            "the llhttp corpus is missing at {} (CI always has ../shared; set COURIER_SHARED)",
            dir.display()
        );
        let root = crate::root();
        let cases = corpus::load(&dir).unwrap();
        assert_eq!(cases.len(), 272, "the corpus changed size");
        let fixtures = load_fixtures(&fixture_dir(&root), &cases).unwrap();
        let expected = expected::load(&expected_path(&root)).unwrap();
        let results: Vec<CaseResult<'_>> = cases
            .iter()
            .map(|c| evaluate(c, &fixtures[&c.id]))
            .collect();
        let report = Report::new(&results, &expected);
        if let Err(e) = report.verdict() {
            panic!("{}\n{e}", report.render(true));
        }
    }
}
