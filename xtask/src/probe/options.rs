//! The `node-oracle.js server` flags the probe shares: parsed from the command
//! line or from a case file's name, and turned back into oracle arguments.

use super::ProbeOptions;

/// Node's defaults: strict parser, 16 KiB header budget, no upgrade listeners,
/// Host required.
pub(crate) fn defaults() -> ProbeOptions {
    ProbeOptions {
        require_host: true,
        ..ProbeOptions::default()
    }
}

/// Applies the flag `arg` to `opts`, taking its value from `rest` if it has one.
/// `Ok(false)`: `arg` is not an oracle flag.
pub(crate) fn take<'a>(
    opts: &mut ProbeOptions,
    arg: &str,
    rest: &mut impl Iterator<Item = &'a str>,
) -> crate::Result<bool> {
    match arg {
        "--insecure" => opts.insecure = true,
        "--upgrade" => opts.upgrade = true,
        "--no-require-host" => opts.require_host = false,
        "--max-header-size" => {
            let n = rest.next().ok_or("--max-header-size needs a number")?;
            let n = n
                .parse()
                .map_err(|_| format!("--max-header-size: `{n}` is not a number"))?;
            opts.max_header_size = Some(n);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Parses a command line made only of oracle flags.
pub(crate) fn parse(args: &[String]) -> crate::Result<ProbeOptions> {
    let mut opts = defaults();
    let mut it = args.iter().map(String::as_str);
    while let Some(a) = it.next() {
        if !take(&mut opts, a, &mut it)? {
            return Err(format!("unknown argument `{a}`"));
        }
    }
    Ok(opts)
}

/// The options a case file's name asks for: every `--`-separated part after the
/// first is a flag without its dashes, and `max-header-size-N` stands for
/// `--max-header-size N`. `k-upgrade-connect--upgrade` runs with `--upgrade`.
pub(crate) fn from_file_stem(stem: &str) -> crate::Result<ProbeOptions> {
    let mut opts = defaults();
    for part in stem.split("--").skip(1) {
        let (flag, value) = match part.strip_prefix("max-header-size-") {
            Some(n) => ("--max-header-size".to_owned(), Some(n)),
            None => (format!("--{part}"), None),
        };
        if !take(&mut opts, &flag, &mut value.into_iter())? {
            return Err(format!(
                "case file `{stem}`: `--{part}` is not an oracle flag"
            ));
        }
    }
    Ok(opts)
}

/// The `node-oracle.js` arguments for these options, mode first.
pub(crate) fn oracle_args(opts: &ProbeOptions) -> Vec<String> {
    let mut a = vec!["server".to_owned()];
    if opts.insecure {
        a.push("--insecure".into());
    }
    if let Some(n) = opts.max_header_size {
        a.push("--max-header-size".into());
        a.push(n.to_string());
    }
    if opts.upgrade {
        a.push("--upgrade".into());
    }
    if !opts.require_host {
        a.push("--no-require-host".into());
    }
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
        let cli = parse(&args("--upgrade --max-header-size 100 --no-require-host")).unwrap();
        let file =
            from_file_stem("p-limits--max-header-size-100--upgrade--no-require-host").unwrap();
        assert_eq!(oracle_args(&cli), oracle_args(&file));
        assert_eq!(
            oracle_args(&cli).join(" "),
            "server --max-header-size 100 --upgrade --no-require-host"
        );
    }

    #[test]
    fn host_is_required_unless_turned_off() {
        assert!(parse(&[]).unwrap().require_host);
        assert!(from_file_stem("a-cl-te").unwrap().require_host);
        assert_eq!(oracle_args(&parse(&[]).unwrap()), ["server"]);
    }

    #[test]
    fn unknown_flags_and_bad_numbers_are_errors() {
        assert!(parse(&args("--split 3")).unwrap_err().contains("--split"));
        assert!(parse(&args("--max-header-size x")).is_err());
        assert!(parse(&args("--max-header-size")).is_err());
        assert!(from_file_stem("x--fast").unwrap_err().contains("--fast"));
    }
}
