"""Print the key declarations of Pulumi.yaml from the settings model (their single source).

The keys live in the ``ttbt2:`` namespace, not in the project's own (``ttbt2-platform:``), and
Pulumi accepts typed ``config:`` schemas only for the project's namespace. So every key is
declared, with its description and default, under ``template.config``, which Pulumi accepts for
any namespace and shows to whoever creates a new stack; the type is given in the description.

Run ``python scripts/project_config.py --write`` after changing a field of
a settings model in ``config/models``; ``tests/test_project_file.py`` fails while the two differ.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import NAMESPACE, config_keys  # noqa: E402

_TYPES = {str: "string", int: "integer", bool: "boolean"}
# Literal fields are strings whose allowed values the description names.


def declaration(field: Any) -> dict[str, Any]:
    """The declaration of one settings field: description (with its type) and default."""
    annotation = field.annotation
    # ``T | None``: an optional key whose absence means "decided by the environment".
    optional = type(None) in get_args(annotation)
    if optional:
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        kind = (
            "list of objects"
            if isinstance(item, type) and issubclass(item, BaseModel)
            else ("list of strings")
        )
    elif get_origin(annotation) is dict:
        kind = "object of strings"
    else:
        kind = _TYPES.get(annotation, "string")
    declared: dict[str, Any] = {"description": f"({kind}) {field.description}"}
    default = field.get_default(call_default_factory=True)
    if isinstance(default, list):
        # A list of objects defaults to models; the file shows them as the stack file writes them.
        default = [i.model_dump() if isinstance(i, BaseModel) else i for i in default]
    if not (optional and default is None):
        declared["default"] = default
    return declared


def project_config() -> dict[str, Any]:
    """Every ``ttbt2:`` key with its type, description and default."""
    return {f"{NAMESPACE}:{key}": declaration(field) for key, field in config_keys().items()}


def render() -> str:
    """Pulumi.yaml with its config block regenerated, everything else kept."""
    doc = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    doc.pop("config", None)
    template = doc.setdefault("template", {})
    template.setdefault("description", "A TTBT2 platform environment (dev, staging or prod).")
    template["config"] = project_config()
    return yaml.safe_dump(doc, sort_keys=False, width=100)


if __name__ == "__main__":
    text = render()
    if "--write" in sys.argv:
        (ROOT / "Pulumi.yaml").write_text(text)
    else:
        sys.stdout.write(text)
