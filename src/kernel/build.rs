//! Reads `KERN_ABI_VERSION` from the C header shared with C and Go, so the header is the single
//! source of truth for the ABI version (and editing it rebuilds the Rust side too).
use std::{env, fs, path::Path};

fn main() {
    let header = Path::new("include/kernel.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = fs::read_to_string(header).expect("include/kernel.h is readable");
    let version = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("#define KERN_ABI_VERSION"))
        .map(|rest| rest.trim().trim_end_matches('u'))
        .and_then(|digits| digits.parse::<u32>().ok())
        .expect("include/kernel.h defines KERN_ABI_VERSION as an unsigned literal");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("abi_version.rs");
    fs::write(out, format!("pub const ABI_VERSION: u32 = {version};\n")).unwrap();
}
