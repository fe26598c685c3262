//! `cargo xtask diff server|client`: the same bytes through Node v20
//! (`node-oracle.js <mode>`) and through our probe (`cargo xtask probe <mode>`),
//! compared field by field. `server` sends request bytes to a server; `client`
//! serves response bytes to a client's request. Both modes work alike:
//!
//! * `cargo xtask diff <mode> [FLAGS] [--name NAME] < cases.jsonl`: live, on
//!   the cases on stdin, with the oracle flags given.
//! * `cargo xtask diff <mode> [--record [--check]] [FILE...]`: live, on the
//!   suite's case files (`conformance/<mode>/`, default: all), each with the
//!   flags its name carries. `--record` also writes Node's answers to
//!   `conformance/node20/<mode>/<stem>.jsonl`; `--check` compares them instead.
//! * `cargo xtask diff <mode> --recorded [FILE...]`: the probe against the
//!   recordings, without Node (the gate tests do the same).
//! * `cargo xtask diff import-llhttp [--check]`: regenerates the llhttp case files.
//!
//! See `docs/conformance.md`, "Server differential" and "Client differential".

use std::fmt::Write as _;

use serde_json::Value;

use crate::probe::{self, ClientProbeOptions, Mode, ProbeOptions, cases, options};

pub(crate) mod compare;
pub(crate) mod expected;
mod llhttp;
pub(crate) mod suite;

use compare::FieldDiff;
use expected::Expected;
use suite::Batch;

const USAGE: &str = "usage: cargo xtask diff server|client [FLAGS] [--name NAME] < cases.jsonl
       cargo xtask diff server|client [--record [--check] | --recorded] [FILE...]
       cargo xtask diff import-llhttp [--check]

  FLAGS         oracle flags for stdin cases:
                  server: --insecure --max-header-size N --upgrade --no-require-host
                  client: --insecure --max-header-size N --upgrade --method M --no-eof
  --name NAME   case keys for stdin cases are NAME/<id> (default stdin/<id>)
  FILE          case files of conformance/<mode> (stem, name or path); default: all of them.
                Their flags come from the file name: a-b--upgrade--max-header-size-100.jsonl,
                m-head--method-HEAD.jsonl
  --record      also write Node's answers to conformance/node20/<mode>/<stem>.jsonl (needs node)
  --check       with --record: compare with the recordings, write nothing
  --recorded    compare the probe with the recordings; no node needed

Differences listed in conformance/<mode>-expected-differences.txt are explained;
any other one (or a stale entry) makes the command fail.";

pub(crate) fn run(args: &[String]) -> crate::Result {
    match args.split_first() {
        Some((mode, rest)) if mode == ProbeOptions::NAME => diff::<ProbeOptions>(rest),
        Some((mode, rest)) if mode == ClientProbeOptions::NAME => diff::<ClientProbeOptions>(rest),
        Some((mode, rest)) if mode == "import-llhttp" => llhttp::run(rest),
        Some((h, _)) if h == "--help" || h == "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// Where Node's answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Run node now.
    Live,
    /// Run node now and write (or with `check`, compare) the recordings.
    Record { check: bool },
    /// Read the recordings.
    Recorded,
}

/// `cargo xtask diff <mode> ...` for the mode `M`.
fn diff<M: Mode>(args: &[String]) -> crate::Result {
    if crate::help_asked(args, USAGE) {
        return Ok(());
    }
    let mut opts = M::defaults();
    let (mut flags, mut record, mut check, mut recorded) = (false, false, false, false);
    let mut name = None;
    let mut files = Vec::new();
    let mut it = args.iter().map(String::as_str);
    while let Some(a) = it.next() {
        match a {
            "--record" => record = true,
            "--check" => check = true,
            "--recorded" => recorded = true,
            "--name" => name = Some(it.next().ok_or("--name needs a value")?.to_owned()),
            _ if opts.take(a, &mut it)? => flags = true,
            _ if a.starts_with('-') => return Err(format!("unknown argument `{a}`\n{USAGE}")),
            _ => files.push(a.to_owned()),
        }
    }
    let source = match (record, check, recorded) {
        (false, false, false) => Source::Live,
        (true, check, false) => Source::Record { check },
        (false, false, true) => Source::Recorded,
        (false, true, _) => return Err("--check goes with --record".into()),
        (true, _, true) => return Err("--record and --recorded exclude each other".into()),
    };
    let root = crate::root();
    let suite_mode = source != Source::Live || !files.is_empty();
    let batches = if suite_mode {
        if flags || name.is_some() {
            return Err(
                "FLAGS and --name are for stdin; case files carry them in their name".into(),
            );
        }
        suite::load::<M>(&root, &files)?
    } else {
        vec![Batch {
            name: name.unwrap_or_else(|| "stdin".into()),
            opts,
            cases: cases::read_stdin()?,
        }]
    };
    let node = match source {
        Source::Recorded => batches
            .iter()
            .map(|b| suite::load_recording(&root, b))
            .collect::<crate::Result<Vec<_>>>()?,
        _ => ask_node(&batches)?,
    };
    let mut problems = Vec::new();
    if let Source::Record { check } = source {
        for (b, answers) in batches.iter().zip(&node) {
            let text = suite::recording(b, answers);
            if !suite::write_recording(&root, b, &text, check)? && check {
                problems.push(format!(
                    "the recording of {} differs from a fresh Node run",
                    b.name
                ));
            }
        }
    }
    let expected = expected::load(&suite::expected_path(&root, M::NAME), M::COMPARED)?;
    let results = evaluate(&batches, &node);
    let report = Report::new(M::NAME, &results, &expected, suite_mode && files.is_empty());
    print!("{}", report.render());
    if let Err(e) = report.verdict() {
        problems.push(e);
    }
    crate::verdict(problems)
}

/// Runs each batch through `node-oracle.js`, the batches in parallel.
fn ask_node<M: Mode>(batches: &[Batch<M>]) -> crate::Result<Vec<Vec<Value>>> {
    let oracle = crate::conformance::record::oracle_script(&crate::shared())?;
    std::thread::scope(|s| {
        let runs: Vec<_> = batches
            .iter()
            .map(|b| {
                let oracle = &oracle;
                s.spawn(move || {
                    let args = options::oracle_args(&b.opts);
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let lines: Vec<Value> = b.cases.iter().map(|c| c.oracle_line()).collect();
                    eprintln!(
                        "{}: node {} ({} cases)",
                        b.name,
                        args.join(" "),
                        lines.len()
                    );
                    crate::conformance::record::run_oracle(oracle, &args, &lines)
                        .map_err(|e| format!("{}: {e}", b.name))
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| {
                r.join()
                    .map_err(|_| "an oracle thread panicked".to_owned())?
            })
            .collect()
    })
}

/// One case: its key, its note and how our probe differs from Node.
#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    /// `<file stem>/<id>`.
    pub(crate) key: String,
    /// What the case probes.
    pub(crate) note: Option<String>,
    /// Empty when we agree with Node.
    pub(crate) diffs: Vec<FieldDiff>,
}

/// Runs every case through the probe and compares it with Node's answer.
pub(crate) fn evaluate<M: Mode>(batches: &[Batch<M>], node: &[Vec<Value>]) -> Vec<CaseResult> {
    batches
        .iter()
        .zip(node)
        .flat_map(|(b, answers)| {
            b.cases.iter().zip(answers).map(|(c, n)| CaseResult {
                key: format!("{}/{}", b.name, c.id),
                note: c.note.clone(),
                diffs: compare::compare(
                    M::COMPARED,
                    &compare::reduce(M::COMPARED, &probe::run_one(c, &b.opts)),
                    &compare::reduce(M::COMPARED, n),
                ),
            })
        })
        .collect()
}

/// The results against the expected-differences list.
pub(crate) struct Report<'a> {
    /// The oracle mode, which names the list.
    mode: &'a str,
    results: &'a [CaseResult],
    expected: &'a Expected,
    /// Listed `(case, field)` pairs whose case ran and agrees on that field.
    stale: Vec<(&'a str, &'a str)>,
    /// Listed cases that do not exist (checked only over the whole suite).
    unknown: Vec<&'a str>,
}

impl<'a> Report<'a> {
    /// `whole_suite`: every case file ran, so a listed case that did not run
    /// does not exist. `mode` names the list (`<mode>-expected-differences.txt`).
    pub(crate) fn new(
        mode: &'a str,
        results: &'a [CaseResult],
        expected: &'a Expected,
        whole_suite: bool,
    ) -> Self {
        let mut stale = Vec::new();
        let mut unknown = Vec::new();
        for (key, field) in expected.keys() {
            match results.iter().find(|r| &r.key == key) {
                Some(r) if !r.diffs.iter().any(|d| &d.field == field) => {
                    stale.push((key.as_str(), field.as_str()));
                }
                None if whole_suite && unknown.last() != Some(&key.as_str()) => {
                    unknown.push(key.as_str());
                }
                _ => {}
            }
        }
        Self {
            mode,
            results,
            expected,
            stale,
            unknown,
        }
    }

    fn reason(&self, r: &CaseResult, d: &FieldDiff) -> Option<&'a String> {
        self.expected.get(&(r.key.clone(), d.field.clone()))
    }

    /// Differences not on the list.
    fn unexplained(&self) -> Vec<(&'a str, &'a str)> {
        self.results
            .iter()
            .flat_map(|r| {
                r.diffs
                    .iter()
                    .filter(|d| self.reason(r, d).is_none())
                    .map(|d| (r.key.as_str(), d.field.as_str()))
            })
            .collect()
    }

    /// Every differing case with its fields, then the summary line
    /// `N cases, M agree, K differ (E explained)`.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let (mut differ, mut explained) = (0, 0);
        for r in self.results.iter().filter(|r| !r.diffs.is_empty()) {
            differ += 1;
            let mut all_listed = true;
            let _ = writeln!(
                s,
                "{}{}",
                r.key,
                r.note
                    .as_deref()
                    .map(|n| format!("  ({n})"))
                    .unwrap_or_default()
            );
            for d in &r.diffs {
                let reason = self.reason(r, d);
                all_listed &= reason.is_some();
                let tag = if reason.is_some() {
                    "expected"
                } else {
                    "NEW     "
                };
                let (ours, node) = elide(&d.ours, &d.node);
                if ours.len() + node.len() <= 80 {
                    let _ = writeln!(s, "  {tag} {}: ours {ours} | node {node}", d.field);
                } else {
                    let _ = writeln!(
                        s,
                        "  {tag} {}:\n      ours {ours}\n      node {node}",
                        d.field
                    );
                }
                if let Some(reason) = reason {
                    let _ = writeln!(s, "           # {reason}");
                }
            }
            explained += usize::from(all_listed);
        }
        for (key, field) in &self.stale {
            let _ = writeln!(
                s,
                "STALE    {key} {field}: listed, but agrees with Node now"
            );
        }
        for key in &self.unknown {
            let _ = writeln!(s, "UNKNOWN  {key}: listed, but there is no such case");
        }
        let n = self.results.len();
        let _ = writeln!(
            s,
            "{n} cases, {} agree, {differ} differ ({explained} explained)",
            n - differ
        );
        s
    }

    /// `Err` on a difference not on the list, a stale entry or an unknown case.
    pub(crate) fn verdict(&self) -> crate::Result {
        let mut problems = Vec::new();
        let unexplained = self.unexplained();
        if !unexplained.is_empty() {
            const SHOWN: usize = 20;
            let mut list: Vec<String> = unexplained
                .iter()
                .take(SHOWN)
                .map(|(k, f)| format!("{k} {f}"))
                .collect();
            if unexplained.len() > SHOWN {
                list.push(format!(
                    "… and {} more (listed above)",
                    unexplained.len() - SHOWN
                ));
            }
            problems.push(format!(
                "{} difference(s) from Node v20 not in conformance/{}:\n  {}",
                unexplained.len(),
                suite::expected_name(self.mode),
                list.join("\n  ")
            ));
        }
        if !self.stale.is_empty() {
            problems.push(format!(
                "{} stale expected difference(s): remove them from the list",
                self.stale.len()
            ));
        }
        if !self.unknown.is_empty() {
            problems.push(format!(
                "{} names unknown case(s): {}",
                suite::expected_name(self.mode),
                self.unknown.join(", ")
            ));
        }
        crate::verdict(problems)
    }
}

/// Shortens two long renderings to the neighbourhood of their first difference.
fn elide(a: &str, b: &str) -> (String, String) {
    const BEFORE: usize = 24;
    const MAX: usize = 160;
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    let start = if common > BEFORE + 8 {
        common - BEFORE
    } else {
        0
    };
    let cut = |s: &str| {
        let mut out = String::new();
        if start > 0 {
            out.push('…');
        }
        let rest: Vec<char> = s.chars().skip(start).collect();
        out.extend(rest.iter().take(MAX));
        if rest.len() > MAX {
            out.push('…');
        }
        out
    };
    (cut(a), cut(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(text: &str) -> Batch<ProbeOptions> {
        Batch {
            name: "t".into(),
            opts: ProbeOptions::defaults(),
            cases: cases::parse(text, "t").unwrap(),
        }
    }

    /// The gate of mode `M`: every case of every suite file through the probe,
    /// compared with Node's recording, without Node. A difference not on the
    /// list fails, and so does a listed difference that has gone away.
    fn suite_matches_node20_or_is_an_expected_difference<M: Mode>() {
        let root = crate::root();
        let batches = suite::load::<M>(&root, &[]).unwrap();
        let node: Vec<Vec<Value>> = batches
            .iter()
            .map(|b| suite::load_recording(&root, b).unwrap())
            .collect();
        let expected = expected::load(&suite::expected_path(&root, M::NAME), M::COMPARED).unwrap();
        let results = evaluate(&batches, &node);
        let report = Report::new(M::NAME, &results, &expected, true);
        if let Err(e) = report.verdict() {
            panic!("{}\n{e}", report.render());
        }
    }

    /// The server gate.
    #[test]
    fn server_suite_matches_node20_or_is_an_expected_difference() {
        suite_matches_node20_or_is_an_expected_difference::<ProbeOptions>();
    }

    /// The client gate.
    #[test]
    fn client_suite_matches_node20_or_is_an_expected_difference() {
        suite_matches_node20_or_is_an_expected_difference::<ClientProbeOptions>();
    }

    /// Runs now, engine or not: every case file of mode `M` has a current
    /// recording, every recording a case file, and the list names only
    /// existing cases and fields.
    fn recordings_are_current_and_the_list_names_real_cases<M: Mode>() {
        let root = crate::root();
        let batches = suite::load::<M>(&root, &[]).unwrap();
        assert!(
            !batches.is_empty(),
            "no case files in conformance/{}",
            M::NAME
        );
        let mut keys = Vec::new();
        for b in &batches {
            suite::load_recording(&root, b).unwrap();
            keys.extend(b.cases.iter().map(|c| format!("{}/{}", b.name, c.id)));
        }
        let expected = expected::load(&suite::expected_path(&root, M::NAME), M::COMPARED).unwrap();
        for (key, field) in expected.keys() {
            assert!(
                keys.contains(key),
                "{}: no case `{key}` ({field})",
                suite::expected_name(M::NAME)
            );
        }
        let recordings: Vec<String> = std::fs::read_dir(suite::recording_dir(&root, M::NAME))
            .unwrap()
            .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_owned))
            .collect();
        for r in recordings {
            assert!(
                batches.iter().any(|b| b.name == r),
                "recording {}/{r}.jsonl has no case file",
                M::NAME
            );
        }
    }

    #[test]
    fn server_recordings_are_current_and_the_list_names_real_cases() {
        recordings_are_current_and_the_list_names_real_cases::<ProbeOptions>();
    }

    #[test]
    fn client_recordings_are_current_and_the_list_names_real_cases() {
        recordings_are_current_and_the_list_names_real_cases::<ClientProbeOptions>();
    }

    #[test]
    fn the_llhttp_case_files_are_generated_from_the_corpus() {
        let root = crate::root();
        for (mode, stem, text) in llhttp::generate(&crate::shared()).unwrap() {
            let path = suite::case_dir(&root, mode).join(format!("{stem}.jsonl"));
            assert!(
                std::fs::read_to_string(&path).unwrap() == text,
                "{} is out of date: run `cargo xtask diff import-llhttp`",
                path.display()
            );
        }
    }

    #[test]
    fn the_report_counts_cases_and_flags_new_and_stale_entries() {
        let batch = batch("{\"id\":\"a\",\"input\":\"\"}\n{\"id\":\"b\",\"input\":\"\"}\n");
        let node_answer = serde_json::json!({
            "requests": [], "client_error": null, "upgrades": [], "response_b64": "",
        });
        let mut results = evaluate(&[batch], &[vec![node_answer.clone(), node_answer]]);
        results[0].diffs.push(FieldDiff {
            field: "response_b64".into(),
            ours: "\"a\"".into(),
            node: "\"b\"".into(),
        });
        let expected = expected::parse(
            "t/a response_b64  # kept\nt/b client_error  # gone\nt/zz response_b64  # no such case\n",
            ProbeOptions::COMPARED,
        )
        .unwrap();
        let report = Report::new("server", &results, &expected, true);
        let text = report.render();
        assert!(
            text.contains("  expected response_b64: ours \"a\" | node \"b\"\n           # kept\n"),
            "{text}"
        );
        assert!(text.contains("STALE    t/b client_error"), "{text}");
        assert!(text.contains("UNKNOWN  t/zz"), "{text}");
        assert!(
            text.ends_with("2 cases, 1 agree, 1 differ (1 explained)\n"),
            "{text}"
        );
        let err = report.verdict().unwrap_err();
        assert!(err.contains("stale") && err.contains("unknown"), "{err}");
        assert!(err.contains("server-expected-differences.txt"), "{err}");
    }

    #[test]
    fn long_values_are_cut_around_the_first_difference() {
        let a = format!("{}X{}", "a".repeat(100), "b".repeat(300));
        let b = format!("{}Y", "a".repeat(100));
        let (x, y) = elide(&a, &b);
        assert_eq!(y, format!("…{}Y", "a".repeat(24)));
        assert!(x.starts_with(&format!("…{}X", "a".repeat(24))) && x.ends_with('…'));
        assert_eq!(x.chars().count(), 162);
        assert_eq!(elide("ab", "ac"), ("ab".into(), "ac".into()));
    }
}
