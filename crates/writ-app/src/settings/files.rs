//! The files of a deployment that keeps state in its data directory: the directory itself (0700),
//! and the key-encryption key and pepper, generated on first use into files only the owner reads.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::{Secret, Settings, SettingsError};

impl Settings {
    /// Creates the data directory (0700) if it is needed and missing.
    pub fn ensure_data_dir(&self) -> Result<(), SettingsError> {
        if !self.uses_data_dir() {
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .map_err(|source| SettingsError::DataDir { path: self.data_dir.clone(), source })
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
}
