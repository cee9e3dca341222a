//! The module's pure code, compiled as plain Rust on the host so its unit
//! tests (`#[cfg(test)]` in the module files) run with `cargo test`.

#[path = "../../../uoa_parse.rs"]
pub mod uoa_parse;

#[path = "../../../uoa_prefix.rs"]
pub mod uoa_prefix;
