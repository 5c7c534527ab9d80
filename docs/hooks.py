"""MkDocs hooks of the keras_graft site (see mkdocs.yml `hooks:`).

- API pages name modules with mkdocstrings' ``::: module`` lines. A module that
  has not landed in the repository yet is shown as a clearly marked "not
  available yet" note instead of failing the strict build.
- The command-line page carries a ``<!-- cli-help -->`` marker, replaced by
  the ``--help`` text of `keras-graft` and of each sub-command, straight from
  the parser (``keras_graft/cli.py`` loaded alone: it imports only the
  standard library at module level, so no Keras import slows the build).
- The tutorial notebooks show Colab's badge image; on the site it is served
  from ``assets/colab-badge.svg`` so that pages load nothing from the network.
- The results page carries ``<!-- reproduce-report -->`` and
  ``<!-- reproduce-long-report -->`` markers. When the reproduction report
  ``benchmarks/results/reproduce_default/report.md`` (or
  ``reproduce_long/``)
  exists, its text replaces the marker (headings moved two levels down,
  relative links pointed at copies of its files published under
  ``results/reproduce_default/`` or ``results/reproduce_long/``).
"""

from __future__ import annotations

import os
import re

from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT_DIR = os.path.join(ROOT, "benchmarks", "results", "reproduce_default")
REPORT = os.path.join(REPORT_DIR, "report.md")
REPORT_URI = "results/reproduce_default"
REPORT_MARKER = "<!-- reproduce-report -->"
LONG_REPORT_DIR = os.path.join(ROOT, "benchmarks", "results", "reproduce_long")
LONG_REPORT_URI = "results/reproduce_long"
LONG_REPORT_MARKER = "<!-- reproduce-long-report -->"
CLI_MARKER = "<!-- cli-help -->"
CLI = os.path.join(ROOT, "keras_graft", "cli.py")
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
_ASSET_EXTS = (".png", ".svg", ".jpg", ".jpeg", ".gif", ".csv", ".json", ".txt")
_DIRECTIVE = re.compile(r"^:::\s+(keras_graft(?:\.[A-Za-z_][\w]*)*)\s*$", re.M)
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def _module_exists(dotted: str) -> bool:
    """Whether the repository defines `dotted` (a module, or a name in one)."""
    parts = dotted.split(".")
    base = ROOT
    for i, part in enumerate(parts):
        package = os.path.join(base, part)
        if os.path.isfile(os.path.join(package, "__init__.py")):
            base = package
            continue
        if os.path.isfile(package + ".py"):
            return True  # anything after a module is an attribute of it
        if i == 0:
            return False
        # Not a submodule: a name the package's __init__ defines or imports?
        with open(os.path.join(base, "__init__.py"), encoding="utf-8") as f:
            return re.search(rf"\b{re.escape(part)}\b", f.read()) is not None
    return True


def _missing_note(dotted: str) -> str:
    return (
        f'!!! warning "`{dotted}` is not available yet"\n'
        f"    The module `{dotted}` has not landed in this version of the "
        "repository; its reference appears here as soon as it does.\n"
    )


def _reports() -> list[tuple[str, str, str, str]]:
    """(marker, report folder, report.md, published URI) of each report."""
    return [
        (REPORT_MARKER, REPORT_DIR, REPORT, REPORT_URI),
        (
            LONG_REPORT_MARKER,
            LONG_REPORT_DIR,
            os.path.join(LONG_REPORT_DIR, "report.md"),
            LONG_REPORT_URI,
        ),
    ]


def _report_assets(report_dir: str | None = None) -> list[str]:
    report_dir = REPORT_DIR if report_dir is None else report_dir
    found = []
    if not os.path.isdir(report_dir):
        return found
    for folder, _, names in os.walk(report_dir):
        for name in sorted(names):
            if name.lower().endswith(_ASSET_EXTS):
                rel = os.path.relpath(os.path.join(folder, name), report_dir)
                found.append(rel.replace(os.sep, "/"))
    return found


def on_files(files, config):
    """Publish the reproduction reports' plots and tables beside the results page."""
    for _, report_dir, _, report_uri in _reports():
        for rel in _report_assets(report_dir):
            uri = f"{report_uri}/{rel}"
            if files.get_file_from_path(uri) is None:
                files.append(
                    File.generated(
                        config, uri, abs_src_path=os.path.join(report_dir, rel)
                    )
                )
    return files


def _report_markdown(
    report_dir: str | None = None,
    report: str | None = None,
    report_uri: str | None = None,
) -> str:
    report_dir = REPORT_DIR if report_dir is None else report_dir
    report = REPORT if report is None else report
    report_uri = REPORT_URI if report_uri is None else report_uri
    with open(report, encoding="utf-8") as f:
        text = f.read()
    assets = set(_report_assets(report_dir))

    def relink(match):
        target = match.group(2)
        if re.match(r"^[a-z]+:|^#|^/", target):
            return match.group(0)
        clean = target.split("#")[0].lstrip("./")
        if clean in assets:
            return f"{match.group(1)}{report_uri}/{clean}{match.group(3)}"
        # A link out of the report folder (e.g. to the repository): plain text.
        return (
            match.group(0)
            if not match.group(1).startswith("[")
            else (match.group(1)[1:-2])
        )

    text = _LINK.sub(relink, text)
    # The report's headings sit under the results page's section heading.
    return re.sub(r"^(#{1,4}) ", r"##\1 ", text, flags=re.M)


def _cli_help() -> str:
    import argparse
    import importlib.util

    spec = importlib.util.spec_from_file_location("_keras_graft_cli_docs", CLI)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser = module.build_parser()
    os.environ.setdefault("COLUMNS", "88")
    blocks = [("keras-graft --help", parser.format_help())]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                blocks.append((f"keras-graft {name} --help", sub.format_help()))
    return "\n".join(
        f"```text\n$ {command}\n{text.rstrip()}\n```\n" for command, text in blocks
    )


def on_page_markdown(markdown, page, config, files):
    """Swap missing API modules for a note; insert the reproduction report."""

    def directive(match):
        dotted = match.group(1)
        return match.group(0) if _module_exists(dotted) else _missing_note(dotted)

    markdown = _DIRECTIVE.sub(directive, markdown)
    for marker, report_dir, report, report_uri in _reports():
        if marker not in markdown:
            continue
        if os.path.isfile(report):
            body = _report_markdown(report_dir, report, report_uri)
        else:
            rel = os.path.relpath(report, ROOT).replace(os.sep, "/")
            body = (
                '!!! note "Reproduction report pending"\n'
                f"    `keras-graft reproduce` writes this report to `{rel}`; it is "
                "shown here once it is in the repository.\n"
            )
        markdown = markdown.replace(marker, body)
    if CLI_MARKER in markdown:
        if os.path.isfile(CLI):
            markdown = markdown.replace(CLI_MARKER, _cli_help())
        else:
            markdown = markdown.replace(CLI_MARKER, _missing_note("keras_graft.cli"))
    return markdown


def on_post_page(output, page, config):
    """Serve the Colab badge image locally (the link itself stays)."""
    if COLAB_BADGE in output:
        depth = page.url.rstrip("/").count("/") + (1 if page.url else 0)
        local = "../" * depth + "assets/colab-badge.svg"
        output = output.replace(f'src="{COLAB_BADGE}"', f'src="{local}"')
    return output
