"""The repository's URL in every notebook, stamped from the one place it is kept.

`pyproject.toml` holds the URL (`[project.urls] Repository`). Each notebook carries it
twice: an "Open in Colab" and a "View on GitHub" link under its title, and the set-up
cell's `%pip install "dcgan-helpers[notebooks] @ git+URL"`, which installs the helpers,
with what the notebooks use, where there is no checkout (Colab). In a fork, change the URL
in `pyproject.toml` and run `python -m dcgan_helpers restamp`; `--check` (and the tests)
list the notebooks that disagree with it.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import tomllib

from .atomic import write_text
from .errors import ConfigError

BRANCH = "main"  # the branch the links open
URL_KEY = "Repository"  # the key of [project.urls] that holds the repository's URL
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
LINKS_START = "[![Open In Colab]("  # how the links' line starts, under the title
INSTALL = re.compile(r'"dcgan-helpers\[notebooks\] @ git\+[^"]*"')
GITHUB = re.compile(r"^https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?$")


def repository_url(pyproject: str) -> str:
    """The repository's URL from `pyproject.toml`'s `[project.urls]`, checked to be on GitHub
    (Colab opens notebooks from GitHub only)."""
    try:
        with open(pyproject, "rb") as f:
            urls = tomllib.load(f).get("project", {}).get("urls", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{pyproject}: cannot read it ({e}); run this from a checkout "
                          f"of the project") from None
    url = urls.get(URL_KEY)
    if not isinstance(url, str) or not GITHUB.match(url):
        raise ConfigError(f"{pyproject}: [project.urls] {URL_KEY} = {url!r} is not "
                          f"https://github.com/OWNER/REPOSITORY; set it to your repository on GitHub")
    return url.rstrip("/").removesuffix(".git")


def links_line(url: str, path_in_repo: str) -> str:
    """The markdown line under a notebook's title: open it on Colab, view it on GitHub."""
    owner, name = GITHUB.match(url).groups()
    colab = f"https://colab.research.google.com/github/{owner}/{name}/blob/{BRANCH}/{path_in_repo}"
    github = f"https://github.com/{owner}/{name}/blob/{BRANCH}/{path_in_repo}"
    return f"{LINKS_START}{COLAB_BADGE})]({colab}) [View on GitHub]({github})"


def install_requirement(url: str) -> str:
    """The quoted requirement the set-up cell installs: the helpers and the notebooks' extras
    from the git repository at `url` (any URL pip's git support takes, file:// included)."""
    return f'"dcgan-helpers[notebooks] @ git+{url}"'


def stamped(notebook: dict, url: str, path_in_repo: str, install_url: str | None = None) -> dict:
    """`notebook` (as JSON) with the links under its title and its set-up cell's install line
    made from `url` (the install from `install_url` when given). Raises ConfigError when
    the notebook has no title cell or no install line to stamp."""
    url = url.rstrip("/").removesuffix(".git")
    cells = [dict(cell) for cell in notebook["cells"]]
    title = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
    if not title.startswith("# "):
        raise ConfigError(f"{path_in_repo}: the first cell is not the title (a markdown cell "
                          f"starting with '# '); add one, then restamp")
    head, _, rest = title.partition("\n")
    body = [line for line in rest.split("\n") if not line.startswith(LINKS_START)]
    while body and not body[0].strip():
        body.pop(0)
    cells[0]["source"] = _lines("\n".join([head, "", links_line(url, path_in_repo), "", *body]))
    setup = next((i for i, cell in enumerate(cells) if cell["cell_type"] == "code"), None)
    text = "".join(cells[setup]["source"]) if setup is not None else ""
    if not INSTALL.search(text):
        raise ConfigError(f"{path_in_repo}: its first code cell has no %pip install "
                          f"\"dcgan-helpers[notebooks] @ git+URL\" line to stamp")
    requirement = install_requirement(install_url or url)
    cells[setup]["source"] = _lines(INSTALL.sub(lambda _: requirement, text))
    return {**notebook, "cells": cells}


def _lines(text: str) -> list[str]:
    """A cell's source as Jupyter stores it: lines that keep their newline."""
    return text.splitlines(keepends=True)


def dumps(notebook: dict) -> str:
    """A notebook's JSON as Jupyter and papermill write it (so that a restamp diffs cleanly)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def restamp(root: str, check: bool = False) -> list[str]:
    """Stamp every notebook of the checkout at `root` (`notebooks/[0-9][0-9]_*.ipynb`) with
    the URL of its `pyproject.toml`; returns the paths (relative to `root`) that changed,
    or with `check` that would change, writing nothing."""
    url = repository_url(os.path.join(root, "pyproject.toml"))
    changed = []
    for path in sorted(glob.glob(os.path.join(root, "notebooks", "[0-9][0-9]_*.ipynb"))):
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            notebook = json.load(f)
        after = stamped(notebook, url, relative)
        if after != notebook:
            changed.append(relative)
            if not check:
                write_text(path, dumps(after))
    return changed


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `restamp` subcommand to `subparsers`."""
    r = subparsers.add_parser(
        "restamp", help="stamp the notebooks with the repository URL in pyproject.toml",
        description="Write the repository's URL ([project.urls] Repository in pyproject.toml) "
                    "into every notebook: the Open in Colab and View on GitHub links under its "
                    "title, and the set-up cell's install line. Run it in a fork after changing "
                    "that URL.")
    r.add_argument("--check", action="store_true",
                   help="write nothing; list the notebooks that disagree (exit code 1 if any)")
    r.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   help="the checkout (default: the one this package is in)")
    return r


def run(args: argparse.Namespace) -> int:
    """`python -m dcgan_helpers restamp [--check]`."""
    changed = restamp(args.root, check=args.check)
    for path in changed:
        print(f"{'disagrees with pyproject.toml' if args.check else 'restamped'}: {path}")
    if not changed:
        print("every notebook agrees with pyproject.toml")
    return 1 if args.check and changed else 0
