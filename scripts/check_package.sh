#!/usr/bin/env bash
# Build the wheel and the sdist, install the wheel with the pinned CPU torch into a fresh virtual environment (no
# extras), and use it as a new user would, outside the source tree: `make package-check` (CI runs it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
torch_version="${TORCH_VERSION:-2.13.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/.venv/bin/python" -m build --outdir "$work/dist" "$root" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ls "$work"/dist/invlearn-*.whl "$work"/dist/invlearn-*.tar.gz
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "torch==$torch_version"
"$work/venv/bin/python" -m pip install --quiet "torch==$torch_version" "$work"/dist/invlearn-*.whl

cd "$work"  # the installed package, never the source tree
"$work/venv/bin/invlearn" --version
"$work/venv/bin/invlearn" --help > /dev/null
"$work/venv/bin/python" - <<'PY'
import importlib.util
import sys

import invlearn

assert importlib.util.find_spec("lightning") is None, "the training extra must not be installed here"
assert "lightning" not in sys.modules and "yaml" not in sys.modules
assert importlib.util.find_spec("invlearn") and (importlib.util.find_spec("invlearn").submodule_search_locations)
print("import invlearn", invlearn.__version__, "without the training extra")
PY
test -f "$work/venv/lib/python"*/site-packages/invlearn/py.typed
# The getting-started example, as the docs give it.
"$work/venv/bin/python" - "$root/docs/getting-started.md" <<'PY'
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
(block,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
exec(compile(block, "getting-started.md", "exec"), {"__name__": "__main__"})
PY
# A command that needs the training extra says so in one line, exit code 2.
set +e
"$work/venv/bin/invlearn" train "$root/configs/sinusoids-augnet.yaml" --out "$work/run" 2> "$work/err.txt"
code=$?
set -e
test "$code" = 2 && test "$(wc -l < "$work/err.txt")" = 1 || { cat "$work/err.txt"; exit 1; }
echo "package check passed: $(cat "$work/err.txt")"
