//! SIGINT and SIGTERM: the one handler of the process.
//!
//! A process has one disposition per signal, so every part of errwatch that cares about SIGINT or
//! SIGTERM goes through this module. The handler is a thread of its own (signal-hook's iterator:
//! the signal handler proper only wakes it), so what it does is ordinary code: take locks,
//! remove files, print.
//!
//! On a signal:
//!
//! - while a live reader (`--follow`, a live standard input) has claimed the stop with
//!   [`claim_stop`], the first signal raises the stop flag: the reader reports the end of its input
//!   and the run closes its last bins and prints its summary as at the end of any input;
//! - otherwise (a batch command, or a second signal during a live run) every temporary file still
//!   registered with [`Temporary`] is removed and the process exits with 128 + the signal's number
//!   (130 for SIGINT, 143 for SIGTERM), as a shell reports a process killed by it.
//!
//! The removal and the rename that puts a temporary file in place ([`Temporary::persist_with`])
//! hold the same lock, so an interrupted write leaves either the old target and no temporary file,
//! or the new target whole.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The live readers that asked for the stop flag instead of an exit.
static LIVE_READERS: AtomicUsize = AtomicUsize::new(0);

/// Raised by the first signal while a live reader has claimed it.
static STOP: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// Temporary files that an interrupted run must remove.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Whether the handler thread is running (or why it could not be started).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Starts the handler thread, once per process.
pub fn install() -> io::Result<()> {
    INSTALLED
        .get_or_init(|| {
            let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
            std::thread::Builder::new()
                .name("errwatch-signals".into())
                .spawn(move || {
                    for signal in signals.forever() {
                        on_signal(signal);
                    }
                })
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| io::Error::other(format!("cannot watch for signals: {e}")))
}

fn on_signal(signal: i32) {
    if LIVE_READERS.load(Ordering::SeqCst) > 0 && !STOP.swap(true, Ordering::SeqCst) {
        return;
    }
    // Held until the exit, so no rename can start after the files are gone.
    let temporaries = lock_temporaries();
    for path in temporaries.iter() {
        let _ = std::fs::remove_file(path);
    }
    std::process::exit(128 + signal);
}

fn lock_temporaries() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Claims the stop for a live reader: from now on the first SIGINT or SIGTERM raises the returned
/// flag instead of ending the process (a second one still ends it). The flag is the same for every
/// caller.
pub fn claim_stop() -> io::Result<Arc<AtomicBool>> {
    install()?;
    LIVE_READERS.fetch_add(1, Ordering::SeqCst);
    Ok(Arc::clone(&STOP))
}

/// Ends the live readers as a first signal would: for a live run whose reader went away (`|
/// head -1` on `--follow`), which has nobody left to report to but its exit code.
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

/// A temporary file registered for removal on a signal; dropping it forgets the path (the file
/// itself is the caller's to remove, as `tempfile` does on drop).
#[derive(Debug)]
pub struct Temporary {
    path: PathBuf,
}

impl Temporary {
    /// Registers `path` (and starts the handler if it is not running).
    #[cfg(test)]
    pub fn register(path: &Path) -> io::Result<Temporary> {
        Temporary::create(|| Ok(path.to_path_buf()), |p| p.as_path()).map(|(_, t)| t)
    }

    /// Makes a temporary file with `create` and registers its path (`path_of`), with the handler
    /// running and the registry held in between: a signal that arrives meanwhile waits, then
    /// removes the file. (Made first and registered after, a SIGTERM between the two left the
    /// file behind; before the handler ran, it killed the process outright.)
    pub fn create<T>(
        create: impl FnOnce() -> io::Result<T>,
        path_of: impl FnOnce(&T) -> &Path,
    ) -> io::Result<(T, Temporary)> {
        install()?;
        let mut temporaries = lock_temporaries();
        let made = create()?;
        let path = path_of(&made).to_path_buf();
        temporaries.push(path.clone());
        Ok((made, Temporary { path }))
    }

    /// Runs `rename` (which moves the temporary file into place) so that no signal removes the
    /// file halfway, and forgets the path.
    pub fn persist_with<T>(self, rename: impl FnOnce() -> T) -> T {
        let mut temporaries = lock_temporaries();
        let result = rename();
        temporaries.retain(|p| *p != self.path);
        drop(temporaries);
        std::mem::forget(self);
        result
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        lock_temporaries().retain(|p| *p != self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_is_registered_until_persisted_or_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let registered = |p: &Path| lock_temporaries().iter().any(|q| q == p);
        let first = Temporary::register(&a).unwrap();
        let second = Temporary::register(&b).unwrap();
        assert!(registered(&a) && registered(&b));
        assert_eq!(first.persist_with(|| 7), 7);
        assert!(!registered(&a) && registered(&b));
        drop(second);
        assert!(!registered(&b));
    }
}
