//! Output files that are never left half-written.
//!
//! Every file errwatch writes (the heatmap, `generate -o` and `--truth`, `aggregate -o`) goes
//! through [`replace_file`]: the content is written to a temporary file in the same directory,
//! flushed, and renamed over the target. A rename within one file system is atomic, so the target
//! is either left as it was or replaced whole, even when the run fails or is interrupted midway;
//! a failed write removes its temporary file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `path` through a temporary file beside it. `write` gets the temporary file's path
/// (which ends in `suffix`, for writers that choose a format by extension) and a buffered handle
/// on it; whatever it returns is passed on once the file is in place.
pub fn replace_file<T>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path, &mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy());
    let temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(suffix)
        .tempfile_in(dir)
        .context("cannot create a temporary file beside it")?;
    let mut out = BufWriter::with_capacity(1 << 16, temporary.as_file().try_clone()?);
    let value = write(temporary.path(), &mut out)?;
    out.flush().context("cannot write")?;
    drop(out);
    temporary.as_file().sync_all().context("cannot write")?;
    temporary.persist(path).map_err(|e| e.error).context("cannot rename the file into place")?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        replace_file(&path, ".csv", |_, out| Ok(out.write_all(b"new content")?)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new content");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "old").unwrap();
        let result: Result<()> = replace_file(&path, ".csv", |_, out| {
            out.write_all(b"half")?;
            anyhow::bail!("the disk is full")
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.csv");
        assert!(replace_file(&path, ".csv", |_, _| Ok(())).is_err());
    }
}
