"""``python -m offline``: see :mod:`offline.cli`."""

import sys

from offline.cli import main

sys.exit(main())
