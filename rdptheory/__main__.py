"""``python -m rdptheory`` is the console script."""

import sys

from rdptheory.cli import main

sys.exit(main())
