"""One repository everywhere, and a wheel that carries the package's data.

The Colab badges, the notebooks' install cells and `pyproject.toml` must name
the same repository; the install cells pin a commit of it whose library code
is the code of this checkout (so the stored outputs and a fresh Colab run the
same library); the wheel built from the checkout carries the shipped digits.
"""

import os
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import notebooks

ROOT = notebooks.ROOT


def _repository() -> str:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        urls = tomllib.load(f)["project"]["urls"]
    return urls["Repository"]


def _sources(path: str) -> list[str]:
    import nbformat

    return [c.source for c in nbformat.read(path, as_version=4).cells]


def install_pins(path: str) -> list[tuple[str, str, str]]:
    """The (extras, repository URL, ref) of every git install in a notebook."""
    pattern = re.compile(
        r'keras-graft(\[[a-z,]+\])? @ git\+(https://[^@"\s]+)@([0-9A-Za-z._-]+)'
    )
    return [m.groups() for s in _sources(path) for m in pattern.finditer(s)]


def test_pyproject_names_the_repository_and_the_docs():
    repo = _repository()
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo), repo
    with open(os.path.join(ROOT, "mkdocs.yml")) as f:
        site_url = re.search(r"^site_url: (\S+)$", f.read(), re.M).group(1)
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        assert tomllib.load(f)["project"]["urls"]["Documentation"] == site_url


@pytest.mark.parametrize("path", notebooks.notebooks(), ids=os.path.basename)
def test_badge_and_install_cell_name_the_pyproject_repository(path):
    repo = _repository()
    owner_name = repo.removeprefix("https://github.com/")
    name = os.path.basename(path)
    text = "\n".join(_sources(path))
    badges = re.findall(
        r"https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/"
        r"[\w.-]+/tutorials/([\w.-]+\.ipynb)",
        text,
    )
    assert badges == [(owner_name, name)], badges
    pins = install_pins(path)
    assert len(pins) == 1, f"{name}: expected one pinned git install, found {pins}"
    extras, url, ref = pins[0]
    assert url == repo + ".git" or url == repo, url
    assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{name}: pin a full commit, got {ref!r}"
    assert (
        'pip install -q keras-graft"' not in text
        and "install -q keras-graft)" not in text
    )


def test_every_notebook_pins_one_commit_with_this_checkout_s_library():
    refs = {ref for p in notebooks.notebooks() for _, _, ref in install_pins(p)}
    assert len(refs) == 1, refs
    (ref,) = refs

    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)

    if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        # A shallow clone may lack the pinned commit; the format checks above hold.
        assert git("rev-parse", "HEAD").returncode == 0
        return
    assert git("cat-file", "-e", f"{ref}^{{commit}}").returncode == 0, (
        f"the notebooks pin {ref}, which is not in this repository's history"
    )
    changed = git("diff", "--stat", ref, "HEAD", "--", "keras_graft").stdout
    assert changed == "", (
        "keras_graft/ changed since the commit the notebooks install; re-pin them with "
        "`python tests/docs/notebooks.py --pin` and re-run them:\n" + changed
    )


def test_the_wheel_carries_the_shipped_digits_and_the_tutorials_imports(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hatchling",
            "build",
            "-t",
            "wheel",
            "-d",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = [p for p in os.listdir(tmp_path) if p.endswith(".whl")]
    with zipfile.ZipFile(tmp_path / wheel) as z:
        names = set(z.namelist())
        data = z.read("keras_graft/datasets/data/mnist_10k.npz")
    with open(
        os.path.join(ROOT, "keras_graft", "datasets", "data", "mnist_10k.npz"), "rb"
    ) as f:
        assert data == f.read()
    assert "keras_graft/cli.py" in names
    assert not any(n.startswith(("tests/", "tutorials/", "benchmarks/")) for n in names)

    # The wheel alone (unpacked, as pip installs a pure-Python wheel) serves
    # every keras_graft import of the tutorials and loads the shipped digits,
    # from a folder outside the checkout.
    site = tmp_path / "site"
    with zipfile.ZipFile(tmp_path / wheel) as z:
        z.extractall(site)
    imports = sorted(
        {
            line.strip()
            for path in notebooks.notebooks()
            for source in _sources(path)
            for line in source.splitlines()
            if re.match(r"\s*(from keras_graft[\w.]* import |import keras_graft)", line)
        }
    )
    assert len(imports) >= 5, imports
    script = "\n".join(
        [
            *imports,
            "import keras_graft, os",
            "assert keras_graft.__file__.startswith(os.environ['SITE']), "
            "keras_graft.__file__",
            "x, y = keras_graft.datasets.load_embedded_digits('test')",
            "assert x.shape[1:] == (28, 28, 1) and len(x) == len(y) > 0, x.shape",
            "print('ok', len(x))",
        ]
    )
    env = dict(os.environ, PYTHONPATH=str(site), SITE=str(site))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]
