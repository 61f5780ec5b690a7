//! The schema's migrations, embedded at build time (see `build.rs`).

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The migrator for SQLite.
pub(crate) fn sqlite() -> Migrator {
    migrator(embedded::SQLITE)
}

/// The migrator for PostgreSQL.
pub(crate) fn postgres() -> Migrator {
    migrator(embedded::POSTGRES)
}

/// Each migration checksummed over its text, as sqlx's `migrate!` did, so a database
/// migrated by an earlier build finds its applied migrations unchanged.
fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::embedded;

    /// Every file in the migrations directories is embedded, numbered from 1 without a gap,
    /// with its text as sqlx would have read it (the checksum a database keeps).
    #[test]
    fn every_migration_file_is_embedded_as_written() {
        for (backend, list) in [
            ("sqlite", embedded::SQLITE),
            ("postgres", embedded::POSTGRES),
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .expect("migrations directory")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "sql"))
                .collect();
            files.sort();
            assert_eq!(files.len(), list.len(), "{backend}");
            for (i, (path, &(version, description, sql))) in files.iter().zip(list).enumerate() {
                assert_eq!(version, i as i64 + 1, "{backend}: {}", path.display());
                let name = path.file_name().and_then(|n| n.to_str()).expect("name");
                assert_eq!(
                    name.split_once('_')
                        .map(|(_, d)| d.trim_end_matches(".sql").replace('_', " ")),
                    Some(description.to_owned())
                );
                assert_eq!(std::fs::read_to_string(path).expect("read"), sql);
            }
        }
    }
}
