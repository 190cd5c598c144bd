"""``python -m qcompile.cli``: the same as the ``qcompile`` console script."""

import sys

from . import main

sys.exit(main())
