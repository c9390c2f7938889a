//! How the kernel rewrites a cell before evcxr compiles it, so that the cell reports how
//! it ran and can be interrupted (the reports are read in `runtime`).
//!
//! Three kinds of call into the prelude crate's `__kernel` module are inserted, all
//! within existing lines so that rustc's line numbers do not move:
//! - a prologue, `workbench::__kernel::cell_started();`, first: installs the child's
//!   SIGINT handler and panic hook, forgets a stale interrupt and announces the run;
//! - a check, `::workbench::__kernel::check();`, at the top of every loop body and block
//!   closure (outside `const` contexts): unwinds the cell when an interrupt was asked for;
//! - an epilogue that announces that the code ran to its end: the cell's last expression
//!   `e` becomes `*workbench::__kernel::finished(&(e))` (a reference in and out, so that a
//!   variable shown at the end of a cell is not moved), or a statement after the last one.
//!   A cell that started and did not finish, panic or stop left early through `?`.
//!
//! The cell is parsed as evcxr treats it (see `syntax`). Cells with evcxr commands or
//! syntax errors are left alone.

use ra_ap_syntax::SyntaxNode;
use ra_ap_syntax::ast::{self, AstNode, HasLoopBody};

use crate::syntax::{body as parse_body, position};

/// The runtime's path as cells name it (the prelude crate is linked as `workbench`).
const RUNTIME: &str = "workbench::__kernel::";
// Not `::workbench` at the start of a line: evcxr takes such a line for a command.
const PROLOGUE: &str = "workbench::__kernel::cell_started(); ";
const CHECK: &str = " ::workbench::__kernel::check();";
const FINISH_OPEN: &str = "*workbench::__kernel::finished(&(";
const FINISH_CLOSE: &str = "))";
const FINISH_STATEMENT: &str = " workbench::__kernel::finished(&());";

/// `code` with the prologue, the checks and the epilogue, or `None` when it holds evcxr
/// commands (`:dep …`, which must stay alone at the start of their lines) or does not
/// parse (evcxr then reports the syntax error on the code as written).
pub(crate) fn instrument(code: &str) -> Option<String> {
    if code.lines().any(|l| l.trim_start().starts_with(':')) {
        return None;
    }
    let body = parse_body(code)?;
    // Insertions in order of position; at one position, in the order pushed.
    let mut inserts: Vec<(usize, &str)> = vec![(0, PROLOGUE)];
    for node in body.syntax().descendants() {
        if let Some(block) = repeated_block(&node)
            && !in_const_context(&node)
            && let Some(curly) = block.stmt_list().and_then(|s| s.l_curly_token())
        {
            inserts.extend(position(curly.text_range().end()).map(|p| (p, CHECK)));
        }
    }
    match body.tail_expr() {
        Some(tail) => {
            let range = tail.syntax().text_range();
            inserts.push((position(range.start())?, FINISH_OPEN));
            inserts.push((position(range.end())?, FINISH_CLOSE));
        }
        None => {
            let end = body
                .statements()
                .last()
                .and_then(|s| position(s.syntax().text_range().end()))
                .unwrap_or(0);
            inserts.push((end, FINISH_STATEMENT));
        }
    }
    inserts.sort_by_key(|&(at, _)| at);
    let extra: usize = inserts.iter().map(|(_, text)| text.len()).sum();
    let mut out = String::with_capacity(code.len() + extra);
    let mut from = 0;
    for (at, text) in inserts {
        out.push_str(&code[from..at]);
        out.push_str(text);
        from = at;
    }
    out.push_str(&code[from..]);
    Some(out)
}

/// The block that `node` runs again and again: a loop's body, a closure's block body.
fn repeated_block(node: &SyntaxNode) -> Option<ast::BlockExpr> {
    if let Some(l) = ast::LoopExpr::cast(node.clone()) {
        return l.loop_body();
    }
    if let Some(w) = ast::WhileExpr::cast(node.clone()) {
        return w.loop_body();
    }
    if let Some(f) = ast::ForExpr::cast(node.clone()) {
        return f.loop_body();
    }
    match ast::ClosureExpr::cast(node.clone())?.body()? {
        ast::Expr::BlockExpr(block) => Some(block),
        _ => None,
    }
}

/// Whether `node` is evaluated at compile time, where the check (not a `const fn`)
/// cannot be called.
fn in_const_context(node: &SyntaxNode) -> bool {
    node.ancestors().any(|a| {
        ast::Fn::cast(a.clone()).is_some_and(|f| f.const_token().is_some())
            || ast::BlockExpr::cast(a.clone()).is_some_and(|b| b.const_token().is_some())
            || ast::Const::can_cast(a.kind())
            || ast::Static::can_cast(a.kind())
            || ast::ConstArg::can_cast(a.kind())
    })
}

/// Whether a compiler message is about the instrumentation rather than the user's code
/// (then the cell is compiled again as written, for the user's own diagnostics).
pub(crate) fn mentions_instrumentation(text: &str) -> bool {
    text.contains(RUNTIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(code: &str) -> usize {
        instrument(code)
            .expect("instrumented")
            .matches(CHECK.trim())
            .count()
    }

    #[test]
    fn loops_and_block_closures_get_a_check_at_the_top() {
        let code = "let mut n = 0;\n'outer: loop { n += 1; if n > 3 { break 'outer; } }\n\
                    while n < 10 { n += 1; }\nfor i in v.iter().map(|x| { x + 1 }) { n += i; }";
        let out = instrument(code).expect("instrumented");
        assert!(out.starts_with(PROLOGUE), "{out}");
        assert_eq!(out.lines().count(), code.lines().count(), "{out}");
        assert!(
            out.contains("loop { ::workbench::__kernel::check(); n += 1;"),
            "{out}"
        );
        assert!(
            out.contains("while n < 10 { ::workbench::__kernel::check(); n"),
            "{out}"
        );
        assert!(
            out.contains("|x| { ::workbench::__kernel::check(); x + 1 }"),
            "{out}"
        );
        assert!(
            out.contains(") { ::workbench::__kernel::check(); n += i; }"),
            "{out}"
        );
        assert_eq!(checks(code), 4);
    }

    #[test]
    fn non_loop_braces_and_const_contexts_are_left_alone() {
        for code in [
            "impl Display for Row { fn fmt(&self) {} }",
            "fn f<F>(f: F) where F: for<'a> Fn(&'a str) { }",
            "struct S { a: u8 }\nlet s = S { a: 1 };",
            "let s = \"loop { }\"; // while x {\nmatch x { _ => {} }",
            "let x = (|| 1)();",
            "if a || b { c }",
            "const fn f() -> u8 { let mut i = 0; while i < 3 { i += 1; } i }",
            "const N: usize = { let mut i = 0; loop { i += 1; if i > 2 { break i; } } };",
            // Macro arguments are token trees, not parsed: no check inside.
            "println!(\"{}\", { loop { break 1 } });",
        ] {
            assert_eq!(checks(code), 0, "{code}");
        }
    }

    #[test]
    fn the_last_expression_is_wrapped_by_reference_or_a_statement_follows() {
        assert_eq!(
            instrument("let x = 1;\nx + 1").expect("instrumented"),
            format!("{PROLOGUE}let x = 1;\n{FINISH_OPEN}x + 1{FINISH_CLOSE}")
        );
        assert_eq!(
            instrument("df").expect("instrumented"),
            format!("{PROLOGUE}{FINISH_OPEN}df{FINISH_CLOSE}")
        );
        assert_eq!(
            instrument("let t = table(\"x\")?; // done").expect("instrumented"),
            format!("{PROLOGUE}let t = table(\"x\")?;{FINISH_STATEMENT} // done")
        );
        assert_eq!(
            instrument("// nothing").expect("instrumented"),
            format!("{PROLOGUE}{FINISH_STATEMENT}// nothing")
        );
    }

    #[test]
    fn commands_and_syntax_errors_are_not_instrumented() {
        assert_eq!(instrument(":dep serde\nloop {}"), None);
        assert_eq!(instrument("let s = \"open"), None);
        assert_eq!(instrument("let x = ;"), None);
    }

    #[test]
    fn instrumentation_is_recognised_in_messages() {
        let out = instrument("loop { x }").expect("instrumented");
        assert!(mentions_instrumentation(&out));
        assert!(!mentions_instrumentation("loop { x }"));
    }
}
