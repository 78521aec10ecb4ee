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


def test_black_misformatted_python_fails_and_formatted_python_passes(
    tmp_path: pathlib.Path,
) -> None:
    source = tmp_path / "example.py"
    source.write_text("print( 'x' )\n")
    bad = lint("python", source)
    assert bad.returncode != 0
    assert "example.py" in bad.stdout + bad.stderr
    source.write_text('print("x")\n')
    assert lint("python", source).returncode == 0


def write_layer(src: pathlib.Path, layer: str, may_include: str, files: dict[str, str]) -> None:
    (src / layer).mkdir(parents=True, exist_ok=True)
    (src / layer / "README.md").write_text(f"# {layer}\n\nMay include: {may_include}\n")
    for name, text in files.items():
        (src / layer / name).write_text(text)


def test_a_lower_layer_including_a_higher_one_fails(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "src"
    write_layer(src, "http", "http", {"server.h": '#include "http/parser.h"\n', "parser.h": ""})
    write_layer(src, "oauth", "http, oauth", {"token.cpp": '#include "http/server.h"\n'})
    good = subprocess.run([str(LINT), "layers", str(src)], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout
    (src / "http" / "server.cpp").write_text('#include <string>\n#include "oauth/token.h"\n')
    bad = subprocess.run([str(LINT), "layers", str(src)], capture_output=True, text=True)
    assert bad.returncode != 0
    assert 'server.cpp:2: http/ may not include "oauth/token.h"' in bad.stdout
    (src / "http" / "server.cpp").write_text('#include "parser.h"\n')
    bare = subprocess.run([str(LINT), "layers", str(src)], capture_output=True, text=True)
    assert bare.returncode != 0 and 'include "parser.h" as "layer/file.h"' in bare.stdout


def test_a_function_over_80_lines_or_a_file_over_700_fails(tmp_path: pathlib.Path) -> None:
    src = tmp_path / "src" / "util"
    src.mkdir(parents=True)
    source = src / "long.cpp"
    (tmp_path / "compile_commands.json").write_text(
        f'[{{"directory": "{tmp_path}", "file": "{source}", "command": "c++ -c {source}"}}]'
    )

    def function(lines: int) -> str:
        return "int f(int x) {\n" + "  x += 1;\n" * lines + "  return x;\n}\n"

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(LINT), "size", str(tmp_path), str(tmp_path / "src")],
            capture_output=True,
            text=True,
        )

    source.write_text(function(70))
    assert run().returncode == 0
    source.write_text(function(90))
    long_function = run()
    assert long_function.returncode != 0
    assert "function 'f' is over 80 lines" in long_function.stdout
    source.write_text(function(70) + "// filler\n" * 700)
    long_file = run()
    assert long_file.returncode != 0 and "long.cpp: 773 lines" in long_file.stdout
