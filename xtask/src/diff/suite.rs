//! The checked-in server suite: case files in `conformance/server/` and Node's
//! recorded answers in `conformance/node20/server/`, one recording per case file,
//! same stem.
//!
//! A case file's oracle flags are in its name (see
//! [`options::from_file_stem`]). A
//! recording line holds the case `id`, the `oracle` arguments, Node's answer
//! reduced to the compared fields, and the length and FNV-1a hash of the input
//! sent, so a recording that no longer matches its case file is detected.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::conformance::record::line_with_id;
use crate::fuzz::fnv32;
use crate::probe::ProbeOptions;
use crate::probe::cases::{self, ProbeCase};
use crate::probe::options;

use super::compare::reduce;

/// `conformance/server`: the case files.
pub(crate) fn case_dir(root: &Path) -> PathBuf {
    root.join("conformance").join("server")
}

/// `conformance/node20/server`: Node's recorded answers.
pub(crate) fn recording_dir(root: &Path) -> PathBuf {
    root.join("conformance").join("node20").join("server")
}

/// `conformance/server-expected-differences.txt`.
pub(crate) fn expected_path(root: &Path) -> PathBuf {
    root.join("conformance")
        .join("server-expected-differences.txt")
}

/// Cases run together with the same options: one case file, or stdin.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    /// The file stem (`stdin` or `--name` for standard input): the first part
    /// of a case key `<name>/<id>`.
    pub(crate) name: String,
    /// The oracle flags, for Node and for the probe.
    pub(crate) opts: ProbeOptions,
    /// The cases, in file order.
    pub(crate) cases: Vec<ProbeCase>,
}

impl Batch {
    /// `node-oracle.js <args>`, as recorded.
    pub(crate) fn oracle(&self) -> String {
        format!(
            "node-oracle.js {}",
            options::oracle_args(&self.opts).join(" ")
        )
    }
}

/// Every case file's stem, sorted.
pub(crate) fn stems(root: &Path) -> crate::Result<Vec<String>> {
    let dir = case_dir(root);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    out.sort();
    Ok(out)
}

/// Loads the named case files (stems, file names or paths of files in
/// `conformance/server/`), or every one when `names` is empty.
pub(crate) fn load(root: &Path, names: &[String]) -> crate::Result<Vec<Batch>> {
    let all = stems(root)?;
    let wanted: Vec<String> = if names.is_empty() {
        all
    } else {
        names
            .iter()
            .map(|n| {
                let stem = Path::new(n)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or(n);
                match all.iter().find(|s| *s == stem) {
                    Some(s) => Ok(s.clone()),
                    None => Err(format!("no case file `{stem}.jsonl` in conformance/server")),
                }
            })
            .collect::<crate::Result<_>>()?
    };
    wanted
        .into_iter()
        .map(|name| {
            let path = case_dir(root).join(format!("{name}.jsonl"));
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Batch {
                opts: options::from_file_stem(&name)?,
                cases: cases::parse(&text, &path.display().to_string())?,
                name,
            })
        })
        .collect()
}

/// The recording of a batch from Node's answers (raw oracle lines, in order).
pub(crate) fn recording(batch: &Batch, answers: &[Value]) -> String {
    let oracle = json!({ "oracle": batch.oracle() });
    batch
        .cases
        .iter()
        .zip(answers)
        .map(|(c, a)| {
            let input = input_digest(&c.input);
            line_with_id(&c.id, &[&oracle, &reduce(a), &input]) + "\n"
        })
        .collect()
}

/// `{"input": {"len", "fnv32"}}`: identifies the bytes a recording was made from.
fn input_digest(input: &[u8]) -> Value {
    json!({ "input": { "len": input.len(), "fnv32": format!("{:08x}", fnv32(input)) } })
}

fn recording_path(root: &Path, name: &str) -> PathBuf {
    recording_dir(root).join(format!("{name}.jsonl"))
}

/// Writes a batch's recording, or with `check` writes nothing. Returns whether
/// the recording on disk was already exactly `text`.
pub(crate) fn write_recording(
    root: &Path,
    name: &str,
    text: &str,
    check: bool,
) -> crate::Result<bool> {
    crate::write_or_check(&recording_path(root, name), text, check)
}

/// Node's recorded answers for a batch, one per case, in order. The recording
/// must have been made from these very cases with these flags.
pub(crate) fn load_recording(root: &Path, batch: &Batch) -> crate::Result<Vec<Value>> {
    let path = recording_path(root, &batch.name);
    let rerecord = format!(
        "re-record with `cargo xtask diff server --record {}`",
        batch.name
    );
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}; {rerecord}", path.display()))?;
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if lines.len() != batch.cases.len() {
        return Err(format!(
            "{}: {} lines for {} cases; {rerecord}",
            path.display(),
            lines.len(),
            batch.cases.len()
        ));
    }
    let oracle = batch.oracle();
    for (c, l) in batch.cases.iter().zip(&lines) {
        let stale = if l["id"] != c.id.as_str() {
            "another case"
        } else if l["oracle"] != oracle.as_str() {
            "other oracle flags"
        } else if l["input"] != input_digest(&c.input)["input"] {
            "other input bytes"
        } else {
            continue;
        };
        return Err(format!(
            "{}: the recording of `{}` is stale ({stale}); {rerecord}",
            path.display(),
            c.id
        ));
    }
    Ok(lines)
}
