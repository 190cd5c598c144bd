"""The model zoo: seed systems as ``.qm`` files shipped with the package.

``load_model("zz-vqc")`` (or ``"zoo:zz-vqc"``) parses ``zz-vqc.qm``; the first comment line of
each file is its one-line description.
"""

from __future__ import annotations

from importlib import resources

from ..frontend.qm import parse_model
from ..ir import Program, QCompileError

PREFIX = "zoo:"


def _files() -> dict:
    return {entry.name[:-3]: entry for entry in resources.files(__name__).iterdir()
            if entry.name.endswith(".qm")}


def list_models() -> dict[str, str]:
    """Model name → one-line description, sorted by name."""
    described = {}
    for name, entry in sorted(_files().items()):
        first = entry.read_text().lstrip().splitlines()[0]
        described[name] = first.lstrip("#").strip() if first.startswith("#") else ""
    return described


def load_model(name: str) -> Program:
    """The zoo model ``name`` (``zoo:`` prefix optional) as a verified Program."""
    return parse_model(model_source(name), filename=PREFIX + _key(name))


def model_source(name: str) -> str:
    """The ``.qm`` text of a zoo model (for printing and editing)."""
    key = _key(name)
    entry = _files().get(key)
    if entry is None:
        raise QCompileError(f"no model {key!r} in the zoo; available: "
                            f"{', '.join(sorted(_files()))}")
    return entry.read_text()


def _key(name: str) -> str:
    return name[len(PREFIX):] if name.startswith(PREFIX) else name
