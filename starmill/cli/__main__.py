"""``python -m starmill.cli …``: the same as the ``starmill`` console script (``accelerate launch -m`` uses it)."""

import sys

from starmill.cli import main

sys.exit(main())
