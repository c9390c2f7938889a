//! The evaluation child: the process that loads and runs compiled notebook cells.

fn main() {
    // evcxr re-executes this binary as its runtime (and as a rustc wrapper); in either
    // role `runtime_hook` never returns. Confinement of user code belongs here, before
    // the hook, so that no cell ever runs unconfined.
    evcxr::runtime_hook();
    // Started by hand rather than by evcxr: say what this binary is for.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("workbench-eval-child is started by the workbench kernel; it is not a command");
    }
    std::process::exit(2);
}
