//! `cargo xtask`: the project's automation entry point.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    eprintln!("xtask: unknown command {args:?}");
    std::process::exit(2);
}
