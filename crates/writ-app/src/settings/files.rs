//! The files of a deployment that keeps state in its data directory: the directory itself (0700),
//! the SQLite database (0600, and so its WAL and shared-memory files, which SQLite creates with the
//! database's mode), and the key-encryption key and pepper, generated on first use into files only
//! the owner reads. Modes looser than these are tightened at start, with a warning.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Secret, Settings, SettingsError};

impl Settings {
    /// Creates the data directory (0700) if it is needed and missing, and the SQLite database file
    /// (0600) if it is missing; tightens either if others may read it.
    pub fn ensure_data_dir(&self) -> Result<(), SettingsError> {
        let database = self.sqlite_file();
        if self.uses_data_dir() {
            let dir = &self.data_dir;
            let io = |source| SettingsError::DataDir { path: dir.clone(), source };
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)?;
            private(dir, 0o700).map_err(io)?;
        }
        if let Some(db) = database {
            let io = |source| SettingsError::DataDir { path: db.clone(), source };
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&db) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", db.display()));
                if file.exists() {
                    private(&file, 0o600).map_err(io)?;
                }
            }
        }
        Ok(())
    }

    /// The SQLite database file, if the database is SQLite on a file.
    fn sqlite_file(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// The key-encryption key: from settings, else from `<data_dir>/kek`, generated on first use.
    pub fn kek(&self) -> Result<[u8; 32], SettingsError> {
        self.key("kek", self.kek.as_ref())
    }

    /// The pepper: from settings, else from `<data_dir>/pepper`, generated on first use.
    pub fn pepper(&self) -> Result<[u8; 32], SettingsError> {
        self.key("pepper", self.pepper.as_ref())
    }

    fn key(&self, name: &'static str, configured: Option<&Secret>) -> Result<[u8; 32], SettingsError> {
        let decode = |s: &str| -> Result<[u8; 32], SettingsError> {
            B64.decode(s.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(SettingsError::BadKey(name))
        };
        if let Some(s) = configured {
            return decode(s.expose());
        }
        let path = self.data_dir.join(name);
        let io = |source| SettingsError::DataDir { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(s) => decode(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| io(std::io::Error::other(e.to_string())))?;
                write_private(&path, format!("{}\n", B64.encode(key)).as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// Takes every permission beyond `mode` away from `path`, saying so.
fn private(path: &Path, mode: u32) -> std::io::Result<()> {
    let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if current & !mode != 0 {
        tracing::warn!(path = %path.display(), from = format!("{current:o}"), to = format!("{mode:o}"), "others could read this: tightened");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))?;
    }
    Ok(())
}

/// Writes a new file readable by its owner only (0600). Fails if the file exists, so a secret is
/// never silently replaced.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_keys_are_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("writ-keys-{}", std::process::id()));
        let s = Settings { data_dir: dir.clone(), ..Default::default() };
        s.ensure_data_dir().unwrap();
        let k1 = s.kek().unwrap();
        assert_eq!(s.kek().unwrap(), k1);
        assert_ne!(s.pepper().unwrap(), k1);
        let mode = std::fs::metadata(dir.join("kek")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_data_directory_and_database_are_made_private_at_start() {
        let dir = std::env::temp_dir().join(format!("writ-modes-{}", std::process::id()));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let s = Settings { data_dir: dir.clone(), ..Default::default() };
        s.ensure_data_dir().unwrap();
        let db = dir.join("writ.db");
        assert_eq!((mode(&dir), mode(&db)), (0o700, 0o600), "created private");
        // Loosened by hand (a restore, a careless chmod): tightened again at the next start.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(dir.join("writ.db-wal"), b"").unwrap();
        std::fs::set_permissions(dir.join("writ.db-wal"), std::fs::Permissions::from_mode(0o664)).unwrap();
        s.ensure_data_dir().unwrap();
        assert_eq!((mode(&dir), mode(&db), mode(&dir.join("writ.db-wal"))), (0o700, 0o600, 0o600));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
