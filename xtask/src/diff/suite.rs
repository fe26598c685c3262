//! The checked-in suites, one per oracle mode (`server`, `client`): case files
//! in `conformance/<mode>/` and Node's recorded answers in
//! `conformance/node20/<mode>/`, one recording per case file, same stem.
//!
//! A case file's oracle flags are in its name (see
//! [`options::from_file_stem`]). A
//! recording line holds the case `id`, the `oracle` arguments, Node's answer
//! reduced to the compared fields, and the length and FNV-1a hash of the input
//! sent (with the case's `method` and `path`, when it sets them), so a
//! recording that no longer matches its case file is detected.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::conformance::record::line_with_id;
use crate::fuzz::fnv32;
use crate::probe::Mode;
use crate::probe::cases::{self, ProbeCase};
use crate::probe::options;

use super::compare::reduce;

/// `conformance/<mode>`: the case files.
pub(crate) fn case_dir(root: &Path, mode: &str) -> PathBuf {
    root.join("conformance").join(mode)
}

/// `conformance/node20/<mode>`: Node's recorded answers.
pub(crate) fn recording_dir(root: &Path, mode: &str) -> PathBuf {
    root.join("conformance").join("node20").join(mode)
}

/// `<mode>-expected-differences.txt`, the name of a mode's list.
pub(crate) fn expected_name(mode: &str) -> String {
    format!("{mode}-expected-differences.txt")
}

/// `conformance/<mode>-expected-differences.txt`.
pub(crate) fn expected_path(root: &Path, mode: &str) -> PathBuf {
    root.join("conformance").join(expected_name(mode))
}

/// Cases run together with the same options: one case file, or stdin.
#[derive(Debug, Clone)]
pub(crate) struct Batch<M> {
    /// The file stem (`stdin` or `--name` for standard input): the first part
    /// of a case key `<name>/<id>`.
    pub(crate) name: String,
    /// The oracle flags, for Node and for the probe.
    pub(crate) opts: M,
    /// The cases, in file order.
    pub(crate) cases: Vec<ProbeCase>,
}

impl<M: Mode> Batch<M> {
    /// `node-oracle.js <args>`, as recorded.
    pub(crate) fn oracle(&self) -> String {
        format!(
            "node-oracle.js {}",
            options::oracle_args(&self.opts).join(" ")
        )
    }
}

/// Every case file's stem in `conformance/<mode>`, sorted.
pub(crate) fn stems(root: &Path, mode: &str) -> crate::Result<Vec<String>> {
    let dir = case_dir(root, mode);
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    out.sort();
    Ok(out)
}

/// Loads the named case files of mode `M` (stems, file names or paths of files
/// in `conformance/<mode>/`), or every one when `names` is empty.
pub(crate) fn load<M: Mode>(root: &Path, names: &[String]) -> crate::Result<Vec<Batch<M>>> {
    let all = stems(root, M::NAME)?;
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
                    None => Err(format!(
                        "no case file `{stem}.jsonl` in conformance/{}",
                        M::NAME
                    )),
                }
            })
            .collect::<crate::Result<_>>()?
    };
    wanted
        .into_iter()
        .map(|name| {
            let path = case_dir(root, M::NAME).join(format!("{name}.jsonl"));
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
pub(crate) fn recording<M: Mode>(batch: &Batch<M>, answers: &[Value]) -> String {
    let oracle = json!({ "oracle": batch.oracle() });
    batch
        .cases
        .iter()
        .zip(answers)
        .map(|(c, a)| {
            let input = input_digest(c);
            line_with_id(&c.id, &[&oracle, &reduce(M::COMPARED, a), &input]) + "\n"
        })
        .collect()
}

/// `{"input": {"len", "fnv32"}}`: identifies the bytes a recording was made
/// from, and the request they answer when the case sets `method` or `path`.
fn input_digest(case: &ProbeCase) -> Value {
    let input = &case.input;
    let mut digest = json!({ "len": input.len(), "fnv32": format!("{:08x}", fnv32(input)) });
    case.add_request(&mut digest);
    json!({ "input": digest })
}

fn recording_path(root: &Path, mode: &str, name: &str) -> PathBuf {
    recording_dir(root, mode).join(format!("{name}.jsonl"))
}

/// Writes a batch's recording, or with `check` writes nothing. Returns whether
/// the recording on disk was already exactly `text`.
pub(crate) fn write_recording<M: Mode>(
    root: &Path,
    batch: &Batch<M>,
    text: &str,
    check: bool,
) -> crate::Result<bool> {
    crate::write_or_check(&recording_path(root, M::NAME, &batch.name), text, check)
}

/// Node's recorded answers for a batch, one per case, in order. The recording
/// must have been made from these very cases with these flags.
pub(crate) fn load_recording<M: Mode>(root: &Path, batch: &Batch<M>) -> crate::Result<Vec<Value>> {
    let path = recording_path(root, M::NAME, &batch.name);
    let rerecord = format!(
        "re-record with `cargo xtask diff {} --record {}`",
        M::NAME,
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
        let digest = &input_digest(c)["input"];
        let same = |k: &str| l["input"][k] == digest[k];
        let stale = if l["id"] != c.id.as_str() {
            "another case"
        } else if l["oracle"] != oracle.as_str() {
            "other oracle flags"
        } else if !same("len") || !same("fnv32") {
            "other input bytes"
        } else if l["input"] != *digest {
            "another request method or path"
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
