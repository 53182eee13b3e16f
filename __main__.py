"""TTBT2 platform: settings in, one program out.

Every stack runs the environment (:mod:`stacks.environment`); a recovery-drill stack (the
``ttbt2:drill`` switch, set by ``.github/workflows/recovery-drill.yml``) runs only what a
restore needs (:mod:`stacks.drill`).
"""

from config import from_pulumi_config
from stacks import drill, environment

cfg = from_pulumi_config()
if cfg.identity.drill:
    drill.build(cfg)
else:
    environment.build(cfg)
