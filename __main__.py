"""TTBT2 platform: settings in, one program out.

Every stack runs the environment (:mod:`stacks.environment`); a recovery-drill stack (the
``ttbt2:drill`` switch, set by ``.github/workflows/recovery-drill.yml``) runs only what a
restore needs (:mod:`stacks.drill`).
"""

from components import settings as settings_module
from components.vault import source as secret_source
from stacks import drill, environment

cfg = settings_module.from_pulumi_config()
if cfg.drill:
    drill.build(cfg)
else:
    # Vault at deploy time (preflight of every declared path first); placeholders offline.
    environment.build(cfg, secret_source.open_source(cfg))
