//! The `webrepl` command (placeholder until the proxy and command-line client land).
fn main() {
    eprintln!("webrepl: not implemented yet");
    std::process::exit(2);
}
