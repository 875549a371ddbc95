//! The local AWS emulator (moto server) as a child process whose life is tied
//! to ours: it reads its standard input until EOF, and that pipe closes when
//! this process ends, however it ends. No orphan emulator survives us.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long moto may take to import and bind (a cold start is ~1 s).
const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("the emulator is not installed at {0}: run `make dev` or `make test`, which install it (scripts/ensure-emulator.sh)")]
    NotInstalled(PathBuf),
    #[error("could not start the emulator")]
    Spawn(#[source] std::io::Error),
    #[error("the emulator did not report its endpoint within {0:?}")]
    Timeout(Duration),
    #[error("the emulator exited before reporting its endpoint")]
    Exited,
}

/// A running moto server on a loopback port.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    child: Child,
    // Held open for the emulator's lifetime; dropping it tells it to stop.
    _lifeline: ChildStdin,
}

impl Emulator {
    /// Starts the emulator installed in the repository at `repo_root`
    /// (`.tools/venv`, or the Python named by `STREAMFLEET_EMULATOR_PYTHON`).
    pub fn start_in_repo(repo_root: &Path) -> Result<Self, EmulatorError> {
        let python = std::env::var_os("STREAMFLEET_EMULATOR_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root.join(".tools/venv/bin/python"));
        Self::start(&python, &repo_root.join("scripts/emulator.py"))
    }

    pub fn start(python: &Path, script: &Path) -> Result<Self, EmulatorError> {
        if !python.exists() {
            return Err(EmulatorError::NotInstalled(python.to_owned()));
        }
        let mut child = Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(EmulatorError::Spawn)?;
        let lifeline = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.ok().filter(|n| *n > 0).map(|_| line));
        });
        let endpoint = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(line)) => line.trim().strip_prefix("MOTO_ENDPOINT=").map(str::to_owned),
            Ok(None) => None,
            Err(_) => {
                let _ = child.kill();
                return Err(EmulatorError::Timeout(START_TIMEOUT));
            }
        };
        match endpoint {
            Some(endpoint) => Ok(Self { endpoint, child, _lifeline: lifeline }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(EmulatorError::Exited)
            }
        }
    }

    /// `http://127.0.0.1:<port>`, for the SDK clients' `endpoint_url`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
