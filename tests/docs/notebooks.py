"""Execute the tutorial notebooks headless (used by the tests and by hand).

    KERAS_BACKEND=jax python tests/docs/notebooks.py --size small --save

runs every notebook in `tutorials/` at the "small" size and writes the executed
notebooks (with their outputs) back in place.

    python tests/docs/notebooks.py --pin

points every notebook's install cell at the last commit that changed
`keras_graft/` (commit the library first, then pin, then run and save).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TUTORIALS = os.path.join(ROOT, "tutorials")


def notebooks() -> list[str]:
    """Paths of the tutorial notebooks, in order."""
    return sorted(
        os.path.join(TUTORIALS, n)
        for n in os.listdir(TUTORIALS)
        if n.endswith(".ipynb")
    )


def execute(
    path: str,
    backend: str,
    size: str,
    timeout: int = 900,
    cwd: str | None = None,
    installed: bool = False,
):
    """Run a notebook in a fresh kernel with KERAS_BACKEND and the tutorial size set.

    With ``installed=True`` the kernel imports the keras_graft installed in
    its environment (a wheel, say) instead of this checkout's.

    Returns:
        (notebook, seconds): the executed notebook and the wall time.
    """
    nb = nbformat.read(path, as_version=4)
    env = dict(
        os.environ,
        KERAS_BACKEND=backend,
        KERAS_GRAFT_TUTORIAL_SIZE=size,
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    # The kernel draws figures inline: matplotlib must not be forced to Agg.
    env.pop("MPLBACKEND", None)
    if not installed:
        # The repository's keras_graft wins over any other installed copy.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (ROOT, env.get("PYTHONPATH")) if p
        )
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": cwd or TUTORIALS}},
        env=env,
    )
    start = time.perf_counter()
    client.execute(env=env)
    return nb, time.perf_counter() - start


# Log lines TensorFlow prints on import whatever TF_CPP_MIN_LOG_LEVEL says.
_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\).*|[IWE]0000 .*"
    r"|To enable the following instructions:.*|\[IPKernelApp\].*)$"
)


def strip_log_noise(nb):
    """Drop TensorFlow's import-time log lines from the stream outputs."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                lines = [
                    line
                    for line in out["text"].splitlines(True)
                    if not _NOISE.match(line.rstrip("\n"))
                ]
                if not "".join(lines).strip():
                    continue
                out["text"] = "".join(lines)
            kept.append(out)
        cell["outputs"] = kept
    return nb


_PIN = re.compile(
    r"(keras-graft(?:\[[a-z,]+\])? @ git\+https://[^@\"\s]+@)([0-9A-Za-z._-]+)"
)
# What must not appear in stored outputs: absolute paths of the machine that ran them.
_MACHINE_PATH = re.compile(
    r"(/root/|/home/[\w.-]+/|/work/|/tmp/|/Users/[\w.-]+/|[A-Z]:\\Users)"
)


def pin(ref: str) -> list[str]:
    """Point every notebook's git install at `ref`; returns the notebooks changed."""
    changed = []
    for path in notebooks():
        nb = nbformat.read(path, as_version=4)
        touched = False
        for cell in nb.cells:
            new = _PIN.sub(lambda m: m.group(1) + ref, cell.source)
            if new != cell.source:
                cell.source, touched = new, True
        if touched:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def stored_output_problems(nb, size: str = "small") -> list[str]:
    """What makes a notebook's stored outputs untrustworthy (empty: none).

    The outputs must come from a run at `size` (the setup cell prints it), with
    no stderr streams (warnings, log lines) and no absolute paths of the
    machine that ran them.
    """
    problems = []
    texts = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream":
                if out.get("name") == "stderr":
                    problems.append(f"cell {i}: stderr output {out['text'][:80]!r}")
                texts.append((i, out["text"]))
            elif out.get("output_type") in ("execute_result", "display_data"):
                texts.append((i, out.get("data", {}).get("text/plain", "")))
            elif out.get("output_type") == "error":
                problems.append(f"cell {i}: error {out.get('ename')}")
    for i, text in texts:
        found = _MACHINE_PATH.search(text)
        if found:
            problems.append(
                f"cell {i}: machine path {found.group(0)!r} in {text[:80]!r}"
            )
        if re.search(r"\bWarning\b|WARNING", text):
            problems.append(f"cell {i}: warning text {text[:80]!r}")
    if not any(f"size: {size}" in text for _, text in texts):
        problems.append(f"no output says 'size: {size}'")
    return problems


# Decimal numbers in the prose of a notebook (not in code or math spans).
_PROSE_NUMBER = re.compile(r"(?<![\w.])(\d+\.\d+)(?![\w.]*\d)")


def untraced_prose_numbers(nb, allowed: frozenset = frozenset()) -> list[str]:
    """Decimal numbers of the markdown that no output of the notebook prints.

    A number a reader is told (a Fréchet distance, a share of seeds) must come
    from the run whose outputs are stored, so each decimal number in the prose
    must appear in some output. Left out: the "Run time" paragraph (measured
    by `notebooks.py` around the whole run), code and math spans, and the
    `allowed` numbers (settings and citations the text states, not results).
    """
    printed = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream":
                printed.append(out["text"])
            elif "data" in out:
                printed.append(out["data"].get("text/plain", ""))
    printed = "\n".join(printed)
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for paragraph in re.split(r"\n\s*\n", cell.source):
            if paragraph.lstrip().startswith("Run time"):
                continue
            text = re.sub(r"\$[^$]*\$|`[^`]*`", "", paragraph)
            for m in _PROSE_NUMBER.finditer(text):
                if m.group(1) not in printed and m.group(1) not in allowed:
                    missing.append(f"cell {i}: {m.group(1)} in {text[:70]!r}")
    return missing


def error_outputs(nb) -> list[str]:
    """Text of every error output of an executed notebook."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{out.get('ename')}: {out.get('evalue')}")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=["ci", "small", "full"])
    parser.add_argument("--save", action="store_true", help="write outputs back")
    parser.add_argument(
        "--timeout",
        type=int,
        default=3600,
        help="seconds a cell may run (default 3600)",
    )
    parser.add_argument(
        "--installed",
        action="store_true",
        help="import the installed keras_graft, not this checkout's "
        "(run from outside the checkout)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the install cells to the last commit of keras_graft/",
    )
    parser.add_argument("names", nargs="*", help="notebooks (default: all)")
    args = parser.parse_args()
    if args.pin:
        import subprocess

        ref = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", "keras_graft"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"pinned {len(pin(ref))} notebooks to {ref}")
        return 0
    backend = os.environ.get("KERAS_BACKEND", "jax")
    paths = [
        p for p in notebooks() if not args.names or any(n in p for n in args.names)
    ]
    for path in paths:
        nb, seconds = execute(
            path,
            backend,
            args.size,
            timeout=args.timeout,
            installed=args.installed,
            cwd=os.getcwd() if args.installed else None,
        )
        errors = error_outputs(nb)
        print(
            f"{os.path.basename(path)}: {seconds:.1f} s, {len(errors)} errors",
            flush=True,
        )
        if args.save:
            nb = strip_log_noise(nb)
            problems = stored_output_problems(nb, args.size)
            if problems:
                print("  not clean:", *problems, sep="\n    ")
            nbformat.write(nb, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
