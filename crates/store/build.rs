//! Embeds the migrations: for each backend, a list of `(version, description, sql)` read by
//! `migrations.rs`, named as sqlx names them (`0001_initial.sql` is version 1, "initial").
//! sqlx's `migrate!` macro did this, at the cost of a second copy of sqlx, SQLite and TLS
//! built for the host.

use std::{env, fmt::Write as _, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new("migrations").join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<String> = fs::read_dir(&dir)
            .expect("the migrations directory")
            .map(|e| {
                e.expect("a directory entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        writeln!(
            code,
            "pub(crate) const {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )
        .ok();
        for name in files {
            let (version, rest) = name.split_once('_').expect("NNNN_description.sql");
            let version: i64 = version.parse().expect("a migration's version is a number");
            let description = rest.trim_end_matches(".sql").replace('_', " ");
            let path = fs::canonicalize(dir.join(&name)).expect("the migration's path");
            writeln!(
                code,
                "    ({version}, {description:?}, include_str!({:?})),",
                path.display()
            )
            .ok();
        }
        writeln!(code, "];").ok();
    }
    fs::write(Path::new(&out).join("migrations.rs"), code).expect("OUT_DIR is writable");
}
