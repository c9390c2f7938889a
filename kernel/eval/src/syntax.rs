//! Cells parsed as evcxr sees them: the statements of a function body, with
//! rust-analyzer's parser (the one evcxr uses; same version, built once).

use ra_ap_syntax::ast::{self, AstNode, HasName};
use ra_ap_syntax::{Edition, SourceFile, TextSize};

/// What the cell is wrapped in to be parsed as statements.
const WRAPPER_OPEN: &str = "fn __workbench_cell() {\n";
const WRAPPER_CLOSE: &str = "\n}";

/// The cell's top-level statements (and final expression), or `None` when the code does
/// not parse; evcxr then reports the syntax error on the code as written.
pub(crate) fn body(code: &str) -> Option<ast::StmtList> {
    let parse = SourceFile::parse(
        &format!("{WRAPPER_OPEN}{code}{WRAPPER_CLOSE}"),
        Edition::Edition2024,
    );
    if !parse.errors().is_empty() {
        return None;
    }
    parse
        .tree()
        .syntax()
        .descendants()
        .find_map(ast::Fn::cast)?
        .body()?
        .stmt_list()
}

/// The position in the cell's code of a position in the parsed text.
pub(crate) fn position(at: TextSize) -> Option<usize> {
    usize::from(at).checked_sub(WRAPPER_OPEN.len())
}

/// The cell's top-level `let NAME = …;` statements without a type and with a plain name
/// (not `ref`, not a pattern), in order: the bindings evcxr persists whose types rustc
/// must tell.
pub(crate) fn untyped_lets(body: &ast::StmtList) -> Vec<(String, ast::IdentPat)> {
    body.statements()
        .filter_map(|statement| match statement {
            ast::Stmt::LetStmt(binding) if binding.ty().is_none() => match binding.pat()? {
                ast::Pat::IdentPat(pat) if pat.ref_token().is_none() && pat.pat().is_none() => {
                    Some((pat.name()?.text().to_string(), pat))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_top_level_plain_untyped_lets() {
        let code = "let a = 1; let b: i32 = 2;\nlet (c, d) = (1, 2);\nlet ref e = 3;\n\
                    fn g() -> u8 { let mut i = 0; i }\nlet mut f = { let k = 1; k };\nlet _ = 4;";
        let body = body(code).expect("parses");
        let names: Vec<String> = untyped_lets(&body).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "f"]);
    }

    #[test]
    fn positions_are_in_the_cells_code() {
        let code = "let a = 1;";
        let (_, pat) = untyped_lets(&body(code).expect("parses")).remove(0);
        let end = position(pat.syntax().text_range().end()).expect("inside");
        assert_eq!(&code[..end], "let a");
        assert_eq!(body("let = ;"), None);
    }
}
