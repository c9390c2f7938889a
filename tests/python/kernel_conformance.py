"""jupyter_kernel_test conformance suite for the workbench kernel.

Run with JUPYTER_PATH pointing at a directory that holds kernels/workbench/kernel.json
(the Rust end-to-end test installs it with `workbench kernel install --prefix`).
"""

import unittest

import jupyter_kernel_test


class WorkbenchKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "workbench"
    language_name = "rust"
    file_extension = ".rs"

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("oops");'

    completion_samples = [{"text": "let alpha_value_x = 1; alpha_value_"}]

    complete_code_samples = ["1 + 1", "let x = 1;", "fn f() -> i32 { 1 }", 'let s = "}";']
    incomplete_code_samples = ["fn f() {", "let v = vec![1,", '"unterminated']
    invalid_code_samples = ["fn f() }", "let x = (1];"]

    code_generate_error = 'let x: i32 = "text";'

    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"ab".repeat(2)', "result": '"abab"'},
    ]
    code_history_pattern = "6*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "String"

    code_display_data = [
        {"code": 'println!("WORKBENCH_DISPLAY {}", r#"{"text/html": "<b>hi</b>"}"#);', "mime": "text/html"},
        {"code": 'println!("WORKBENCH_DISPLAY {}", r#"{"image/svg+xml": "<svg/>"}"#);', "mime": "image/svg+xml"},
    ]

    code_clear_output = 'println!("WORKBENCH_CLEAR_OUTPUT");'

    code_page_something = ":help"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # jupyter_kernel_test gives each request 15 s; the first one waits for the
        # kernel to load the workbench prelude, so let that happen here first.
        cls.kc.execute_interactive("0", timeout=600)


if __name__ == "__main__":
    unittest.main(verbosity=2)
