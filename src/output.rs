//! Output files: regular files are never left half-written, and nothing else is ever replaced.
//!
//! Every file errwatch writes (the heatmap, `generate -o` and `--truth`, `aggregate -o`) goes
//! through [`replace_file`], which looks at what the path is first:
//!
//! - **A regular file, or a new path**: the content is written to a temporary file
//!   (`.NAME.XXXXXX.tmp`) in the same directory, flushed, synced and renamed over the target. A
//!   rename within one file system is atomic, so the target is either left as it was or replaced
//!   whole, even when the run fails or is interrupted midway: a failed write removes its temporary
//!   file, and so does SIGINT or SIGTERM (the temporary is registered with [`crate::signals`]). A
//!   new file gets mode `0666 & !umask`, as `>` in a shell gives; a replaced file keeps its mode,
//!   and its owner and group where the process may set them (as root).
//! - **A symbolic link** is followed (through every link of a chain) and its final target is
//!   replaced as above, in the target's directory, so the link stays a link.
//! - **A FIFO, a character or block device, a socket**, anything else that is not a regular file
//!   or a directory, and any path under `/dev` or `/proc` (`/dev/stdout`, `/dev/fd/3`, even when
//!   they lead to a regular file): opened for writing and written in place, never renamed over:
//!   replacing `/dev/null` with a regular file would break the machine.
//! - **A directory** is an error.

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::signals::Temporary;

/// The most symbolic links followed from one path, as Linux's `MAXSYMLINKS`.
const MAX_LINKS: usize = 40;

/// The mode a new file is created with before the umask applies, as a shell's `>` does.
const NEW_FILE_MODE: u32 = 0o666;

/// Writes `path` through a temporary file beside it, or in place when it is not a regular file
/// (see the module docs). `write` gets the path being written (the temporary file's, which ends
/// in `suffix`, for writers that choose a format by extension) and a buffered handle on it;
/// whatever it returns is passed on once the file is in place.
pub fn replace_file<T>(
    path: &Path,
    suffix: &str,
    write: impl FnOnce(&Path, &mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    // What the path names once the kernel has followed its links: `/dev/stdout` is a link to
    // `/proc/self/fd/1`, whose "target" (`pipe:[123]`) is no path at all.
    let existing = match fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).context("cannot look at it"),
    };
    match &existing {
        Some(meta) if meta.is_dir() => bail!("is a directory"),
        Some(meta) if !meta.is_file() || is_system_path(path) => {
            return write_in_place(path, write);
        }
        _ => {}
    }
    let target = follow_links(path)?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = target.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy());
    let (temporary, registered) = Temporary::create(
        || {
            tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(suffix)
                .permissions(Permissions::from_mode(NEW_FILE_MODE))
                .tempfile_in(dir)
        },
        |t| t.path(),
    )
    .context("cannot create a temporary file beside it")?;
    if let Some(meta) = &existing {
        keep_owner_and_mode(temporary.as_file(), meta)?;
    }
    let mut out = BufWriter::with_capacity(1 << 16, temporary.as_file().try_clone()?);
    let value = write(temporary.path(), &mut out)?;
    out.flush().context("cannot write")?;
    drop(out);
    temporary.as_file().sync_all().context("cannot write")?;
    registered
        .persist_with(|| temporary.persist(&target))
        .map_err(|e| e.error)
        .context("cannot rename the file into place")?;
    Ok(value)
}

/// Paths under `/dev` and `/proc` (`/dev/stdout` redirected to a file, `/dev/fd/3`) are the
/// system's handles on open files: written in place, whatever they lead to, never renamed over.
fn is_system_path(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

/// The path a chain of symbolic links from `path` ends at (which may not exist yet).
fn follow_links(path: &Path) -> Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&path).context("cannot read the symbolic link")?;
                path = match path.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(path),
        }
    }
    bail!("more than {MAX_LINKS} symbolic links in a chain")
}

/// Gives the temporary file the owner, group and mode of the file it replaces. The owner can be
/// set only as root (and the group only to one of ours): elsewhere the new file is ours, as with
/// any editor that writes a copy and renames it.
fn keep_owner_and_mode(file: &File, old: &Metadata) -> Result<()> {
    let new = file.metadata().context("cannot look at the temporary file")?;
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        // Before the mode: a change of owner clears the set-id bits.
        let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()))
            .or_else(|_| std::os::unix::fs::fchown(file, None, Some(old.gid())));
    }
    file.set_permissions(Permissions::from_mode(old.mode() & 0o7777))
        .context("cannot give the new file the old one's mode")
}

/// Writes a FIFO, a device or another non-regular file where it is, without a temporary file.
fn write_in_place<T>(
    target: &Path,
    write: impl FnOnce(&Path, &mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let file = OpenOptions::new().write(true).open(target).context("cannot open it for writing")?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    let value = write(target, &mut out)?;
    out.flush().context("cannot write")?;
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
