//! A small harness: run the `errwatch` binary in a temporary directory with fixture files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::rc::Rc;

/// A command line being built, with its own temporary working directory.
pub struct Errwatch {
    dir: Rc<tempfile::TempDir>,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
}

/// What a finished run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Errwatch {
    /// `errwatch ARGS...` in a fresh temporary directory.
    pub fn new(args: &[&str]) -> Errwatch {
        Errwatch {
            dir: Rc::new(tempfile::tempdir().expect("temporary directory")),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            env: Vec::new(),
        }
    }

    /// Another command line in the same working directory.
    #[allow(dead_code)]
    pub fn clone_with(&self, args: &[&str]) -> Errwatch {
        Errwatch {
            dir: Rc::clone(&self.dir),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdin: None,
            env: Vec::new(),
        }
    }

    /// Writes a fixture file into the working directory.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Errwatch {
        std::fs::write(self.dir.path().join(name), contents).expect("write fixture");
        self
    }

    /// Adds arguments.
    pub fn args(mut self, args: &[&str]) -> Errwatch {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Feeds standard input.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Errwatch {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sets an environment variable for the run.
    #[allow(dead_code)]
    pub fn env(mut self, key: &str, value: &str) -> Errwatch {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The working directory.
    #[allow(dead_code)]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the working directory.
    #[allow(dead_code)]
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs to completion.
    pub fn run(&self) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_errwatch"));
        command
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("NO_COLOR")
            // Colour, the step summary and the flags' twins come from the environment; a test
            // sets the ones it means.
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .env_remove("GITHUB_STEP_SUMMARY")
            // Unix-seconds timestamps are shown in the zone of TZ.
            .env_remove("TZ")
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ERRWATCH_") {
                command.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start errwatch");
        if let Some(bytes) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            // A run that fails early may close its stdin; that is its answer, not the test's.
            let _ = pipe.write_all(bytes);
        }
        let out = child.wait_with_output().expect("wait for errwatch");
        Output {
            code: out.status.code().expect("errwatch exited by a signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// The directory of the repository (for the bundled data).
#[allow(dead_code)]
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The environment variable that lets a test that runs `duckdb` skip when it is missing, outside
/// CI only.
const SKIP_DUCKDB: &str = "ERRWATCH_TEST_SKIP_DUCKDB";

/// Whether `duckdb` is on the PATH. When it is not, the calling test fails, so that it never
/// passes without checking: under CI (`CI` set, as `.ci/run` does, which also installs it)
/// always, elsewhere unless `ERRWATCH_TEST_SKIP_DUCKDB=1` says the skip is meant; then this
/// returns false and the test returns.
pub fn duckdb_or_skip() -> bool {
    if Command::new("duckdb").arg("-version").output().is_ok() {
        return true;
    }
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let opted_out = std::env::var(SKIP_DUCKDB).is_ok_and(|v| v == "1");
    assert!(
        opted_out && !ci,
        "duckdb is not on the PATH: install it (python3 -m pip install --user duckdb-cli, \
         then add `python3 -m site --user-base`/bin to PATH){}",
        if ci {
            "; under CI this test cannot be skipped"
        } else {
            ", or set ERRWATCH_TEST_SKIP_DUCKDB=1 to skip it"
        }
    );
    eprintln!("skipped: duckdb not installed and {SKIP_DUCKDB}=1");
    false
}
