//! The evaluation child: the process that loads and runs compiled notebook cells.

fn main() {
    // evcxr re-executes this binary as its runtime and as a rustc wrapper. As the
    // runtime it runs user code, so it confines itself first; a confinement failure
    // ends it before any cell runs, and evcxr reports the failed start.
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
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
    }
    evcxr::runtime_hook();
    // Started by hand rather than by evcxr: say what this binary is for.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("workbench-eval-child is started by the workbench kernel; it is not a command");
    }
    std::process::exit(2);
}
