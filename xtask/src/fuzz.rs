//! `cargo xtask fuzz`.

pub(crate) fn run(args: &[String]) -> crate::Result {
    Err(format!("not implemented yet: {args:?}"))
}
