"""ci/lint fails, naming the file, on a misformatted C++ file and on a Python file with an unused
import, and passes on the same files once they are clean."""

import os
import pathlib
import subprocess

LINT = pathlib.Path(os.environ["TWOBA_SOURCE_DIR"]) / "ci" / "lint"


def lint(part: str, path: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), part, str(path)], capture_output=True, text=True)


def test_misformatted_cpp_fails_and_formatted_cpp_passes(tmp_path: pathlib.Path) -> None:
    # clang-format looks for .clang-format beside the file, then upwards: give it the project's.
    (tmp_path / ".clang-format").write_text((LINT.parent.parent / ".clang-format").read_text())
    source = tmp_path / "example.cpp"
    source.write_text("int  add(int a,int b){return a+b;}\n")
    bad = lint("cpp", source)
    assert bad.returncode != 0
    assert "example.cpp" in bad.stdout + bad.stderr
    source.write_text("int add(int a, int b) { return a + b; }\n")
    assert lint("cpp", source).returncode == 0


def test_unused_python_import_fails_and_clean_python_passes(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "example.py"
    source.write_text("import os\n")
    bad = lint("python", source)
    assert bad.returncode != 0
    assert "example.py" in bad.stdout + bad.stderr and "imported but unused" in bad.stdout
    source.write_text("import os\n\nprint(os.sep)\n")
    assert lint("python", source).returncode == 0
