//! Evaluation of notebook cells with evcxr, behind the [`Evaluator`] trait.
//!
//! The kernel speaks Jupyter; this crate only turns code into outputs. It knows no
//! Jupyter types, so the kernel's dispatch can be tested with a fake evaluator and
//! this crate can be tested without sockets.
//!
//! evcxr compiles each cell into a shared library and loads it into a child process.
//! The child is our own small binary (`workbench-eval-child`), not the kernel itself,
//! so that it can confine itself before it runs any user code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Outputs of one evaluation, keyed by MIME type (`text/plain`, `text/html`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Rich representations of the cell's value, if it had one.
    pub mime_bundle: BTreeMap<String, String>,
}

/// An evaluation failure that the user must see.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cell did not compile; one entry per rustc diagnostic.
    #[error("{}", .0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("\n"))]
    Compilation(Vec<Diagnostic>),
    /// The child process died (panic, abort, out of memory); variables are lost.
    #[error("the evaluation process ended: {0}")]
    ChildEnded(String),
    /// Starting the evaluation context failed.
    #[error("starting the evaluation context with {}", child.display())]
    Start {
        /// The child binary.
        child: PathBuf,
        /// The cause.
        #[source]
        source: evcxr::Error,
    },
    /// Any other evcxr failure.
    #[error("{0}")]
    Other(#[source] evcxr::Error),
}

/// One compiler diagnostic, rendered for a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The rustc error code (`E0308`), if any.
    pub code: Option<String>,
    /// The message with the user's code spans.
    pub message: String,
}

/// Something that evaluates cells and keeps their state between calls.
pub trait Evaluator {
    /// Evaluates `code` and returns its outputs.
    ///
    /// # Errors
    ///
    /// Compilation errors, or the end of the child process.
    fn evaluate(&mut self, code: &str) -> Result<Outputs, Error>;
}

/// evcxr behind [`Evaluator`].
pub struct Evcxr {
    context: evcxr::CommandContext,
    // Keeps the child's stdout/stderr channels open; the kernel forwards them later.
    _outputs: evcxr::EvalContextOutputs,
}

impl Evcxr {
    /// Starts an evaluation context whose user code runs in `child` (a binary that
    /// calls `evcxr::runtime_hook`).
    ///
    /// # Errors
    ///
    /// [`Error::Start`] when the context cannot be created (no toolchain, the child
    /// binary missing).
    pub fn start(child: &Path) -> Result<Evcxr, Error> {
        let (eval_context, outputs) =
            evcxr::EvalContext::with_subprocess_command(Command::new(child)).map_err(|source| {
                Error::Start {
                    child: child.to_owned(),
                    source,
                }
            })?;
        let mut context = evcxr::CommandContext::with_eval_context(eval_context);
        // Cells must never reach the network: dependencies come from the offline set.
        context.execute(":offline 1").map_err(Error::Other)?;
        Ok(Evcxr {
            context,
            _outputs: outputs,
        })
    }
}

impl Evaluator for Evcxr {
    fn evaluate(&mut self, code: &str) -> Result<Outputs, Error> {
        match self.context.execute(code) {
            Ok(outputs) => Ok(Outputs {
                mime_bundle: outputs.content_by_mime_type.into_iter().collect(),
            }),
            Err(evcxr::Error::CompilationErrors(errors)) => Err(Error::Compilation(
                errors
                    .iter()
                    .map(|e| Diagnostic {
                        code: e.code().map(str::to_owned),
                        message: e.message(),
                    })
                    .collect(),
            )),
            Err(evcxr::Error::SubprocessTerminated(message)) => Err(Error::ChildEnded(message)),
            Err(other) => Err(Error::Other(other)),
        }
    }
}
