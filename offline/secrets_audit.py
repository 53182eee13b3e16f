"""No plaintext secret-like inputs: every password, token or key reaches a resource as a secret.

This check cannot live in the CrossGuard pack: the analyzer hands validation policies their
inputs with secrets already unwrapped (``pulumi_policy`` deserializes them without the secret
marker), so a policy cannot tell a Pulumi secret from a plaintext string. The offline engine
records the inputs before that step, with the secret envelope intact, and audits them here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from offline.evaluate import Finding
from offline.graph import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, StackGraph

NAME = "plaintext-secret-inputs"
DESCRIPTION = (
    "Secret-like inputs (passwords, tokens, private and API keys) are Pulumi secrets, so state "
    "and previews never show them (platform check of the offline engine)."
)

# Names that hold a credential. Names that only point at one (an ARN, an id, a KMS key) or say
# how it is handled (a strategy, a flag) do not.
_SECRET_NAME = re.compile(
    r"(password|passwd|passphrase|secret|token|privatekey|apikey|accesskey|credentials?)$",
    re.IGNORECASE,
)
_POINTER = re.compile(
    r"(arn|id|ids|name|type|strategy|enabled|kmskeyid|version|ttl|path|ref)$|^existing", re.I
)
# Grafana's variable expansion: ``$__file{/path}`` is replaced by the content of a file mounted
# at run time, so the value names where the credential lives, not the credential.
_FILE_REFERENCE = re.compile(r"^\$__file\{/[^{}\s]+\}$")
# Kubernetes Secrets: every value of these maps is a credential.
_SECRET_MAPS = {("kubernetes:core/v1:Secret", "data"), ("kubernetes:core/v1:Secret", "stringData")}


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def _plaintext(value: Any) -> bool:
    # Provider options such as skipChildToken arrive as "true"/"false": a flag, not a credential.
    return (
        isinstance(value, str)
        and value not in ("", UNKNOWN, "true", "false")
        and not _FILE_REFERENCE.match(value)
    )


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if _is_secret(value):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield (f"{path}.{key}" if path else str(key)), item
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def audit(graph: StackGraph) -> list[Finding]:
    """A mandatory finding for every secret-like input given in plain text."""
    findings: list[Finding] = []
    for res in graph.resources:
        for top, value in res.props.items():
            if (
                (res.type, top) in _SECRET_MAPS
                and isinstance(value, dict)
                and not _is_secret(value)
            ):
                plain = sorted(k for k, v in value.items() if not _is_secret(v) and _plaintext(v))
                if plain:
                    findings.append(_finding(res.urn, f"{top}.{', '.join(plain)}"))
        for path, value in _walk(res.props, ""):
            leaf = re.split(r"[.\[]", path)[-1]
            if _SECRET_NAME.search(leaf) and not _POINTER.search(leaf) and _plaintext(value):
                findings.append(_finding(res.urn, path))
    return findings


def _finding(urn: str, path: str) -> Finding:
    return Finding(
        NAME,
        DESCRIPTION,
        "mandatory",
        f"input '{path}' is a plaintext string; pass it as a Pulumi secret "
        "(pulumi.Output.secret, a secure: config value or a Vault read)",
        urn,
    )
