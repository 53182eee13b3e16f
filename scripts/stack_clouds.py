"""Print which clouds a stack deploys to, as ``key=value`` lines for ``$GITHUB_OUTPUT``.

The per-stack workflow asks for GCP and Azure credentials only for a stack that enables them
(a disabled cloud registers no resources and needs no credentials), so it reads the switches
from the stack file through the same settings model the program uses: a stack file the program
would refuse is refused here too, before any cloud is contacted.

    python scripts/stack_clouds.py dev      # aws=true, gcp=false, azure=false
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import SettingsError, from_config_values  # noqa: E402
from offline.stackfile import StackFileError, load_stack  # noqa: E402


def clouds(stack: str, project_dir: Path = ROOT) -> dict[str, bool]:
    """The clouds ``stack`` deploys to: AWS always, GCP and Azure by their switches."""
    settings = from_config_values(stack, load_stack(project_dir, stack).values)
    return {"aws": True, "gcp": settings.gcp.enabled, "azure": settings.azure.enabled}


def main(argv: list[str], project_dir: Path = ROOT) -> int:
    """Entry point: one stack name in, ``cloud=true|false`` lines out; exit 2 on bad input."""
    if len(argv) != 1:
        print("usage: stack_clouds.py STACK", file=sys.stderr)
        return 2
    try:
        found = clouds(argv[0], project_dir)
    except (StackFileError, SettingsError) as exc:
        print(exc, file=sys.stderr)
        return 2
    for cloud, enabled in found.items():
        print(f"{cloud}={'true' if enabled else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
