"""TTBT2 platform: settings in, one program out.

Every stack runs the environment (:mod:`stacks.environment`); a recovery-drill stack (the
``ttbt2:drill`` switch, set by ``.github/workflows/recovery-drill.yml``) runs only what a
restore needs (:mod:`stacks.drill`).

:func:`main` is the program's one entry and takes where its secrets come from. Pulumi runs
this file as ``__main__``, which calls it with Vault
(:func:`components.vault.source.open_source`); the offline engine (:mod:`offline.engine`)
loads this same file under another name and calls the same :func:`main` with placeholders
(:func:`components.vault.source.open_offline`). Nothing in the program asks which engine runs
it.
"""

from components.vault import source as secret_source
from config import from_pulumi_config
from stacks import drill, environment


def main(open_secrets: secret_source.SecretSourceFactory = secret_source.open_source) -> None:
    """Register the stack the Pulumi config describes, reading secrets from ``open_secrets``."""
    cfg = from_pulumi_config()
    if cfg.identity.drill:
        drill.build(cfg)
    else:
        environment.build(cfg, open_secrets(cfg))


if __name__ == "__main__":
    main()
