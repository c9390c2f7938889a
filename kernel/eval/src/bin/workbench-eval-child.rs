//! The evaluation child: the process that loads and runs compiled notebook cells.

fn main() {
    // evcxr re-executes this binary as its runtime and as a rustc wrapper. As the
    // runtime it runs user code, so it confines itself first; a confinement failure
    // ends it before any cell runs, and evcxr reports the failed start.
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        // A session of its own: the kernel tells what cells started (in this session, or
        // in one a cell made) from its own builds (in the kernel's), and ends the former
        // with each cell.
        if let Err(err) = rustix::process::setsid() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("workbench-eval-child: cannot start a session of its own: {err}");
            }
            std::process::exit(3);
        }
        let result = kernel_eval::confine::Policy::from_env()
            .and_then(|policy| kernel_eval::confine::apply(&policy));
        if let Err(err) = result {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("workbench-eval-child: cannot confine user code: {err}");
            }
            std::process::exit(3);
        }
        // Displays printed mid-cell are shown when printed; without the relay they come
        // with the cell's result, as evcxr shows them, which is worse but not unsafe.
        if let Err(err) = kernel_eval::relay::install() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "workbench-eval-child: displays will arrive at the end of each cell: {err}"
                );
            }
        }
        run_cells();
    }
    evcxr::runtime_hook();
    // Started by hand rather than by evcxr: say what this binary is for.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("workbench-eval-child is started by the workbench kernel; it is not a command");
    }
    std::process::exit(2);
}

/// evcxr's runtime protocol (`LOAD_AND_RUN LIBRARY FUNCTION` lines in, a completion marker
/// out, the variable store passed from one cell to the next), spoken here rather than by
/// `evcxr::runtime_hook`: evcxr's loop holds the lock of standard input while a cell runs,
/// which was harmless when this binary had a standard library of its own, but the
/// workspace links std as a shared library (`.cargo/config.toml`), so the cells and this
/// loop share one `Stdin`, and a cell reading its input (an input request) would wait for
/// the loop forever. The lock is taken for one line at a time instead.
fn run_cells() -> ! {
    use std::ffi::c_void;
    let mut store: *mut c_void = std::ptr::null_mut();
    // Never unloaded: thread-local destructors of a cell may run at exit (as in evcxr).
    let mut libraries: Vec<libloading::Library> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match std::io::stdin().read_line(&mut line) {
            Ok(0) => std::process::exit(0),
            Ok(_) => {}
            Err(err) => fail(&format!("reading the next instruction: {err}")),
        }
        let Some((library, function)) = line
            .trim_end()
            .strip_prefix("LOAD_AND_RUN ")
            .and_then(|rest| rest.split_once(' '))
        else {
            fail(&format!("unrecognised instruction {line:?}"));
        };
        #[allow(unsafe_code)]
        // SAFETY: the library is a cell evcxr compiled for this process, and the function
        // is its entry point of the signature evcxr generates (the variable store in, the
        // variable store out), as evcxr's own runtime calls it.
        let loaded = unsafe {
            libloading::Library::new(library).and_then(|lib| {
                let entry = lib
                    .get::<extern "C" fn(*mut c_void) -> *mut c_void>(function.as_bytes())
                    .map(|f| *f)?;
                Ok((lib, entry))
            })
        };
        match loaded {
            Ok((lib, entry)) => {
                store = entry(store);
                libraries.push(lib);
            }
            Err(err) => fail(&format!("loading {library}: {err}")),
        }
        #[allow(clippy::print_stdout)]
        {
            println!("EVCXR_EXECUTION_COMPLETE");
        }
    }
}

fn fail(what: &str) -> ! {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("workbench-eval-child: {what}");
    }
    std::process::exit(99);
}
