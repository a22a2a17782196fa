"""`python -m bench NAME [--scale N]`; see `bench/__init__.py`."""

import sys

from bench.harness import main

sys.exit(main())
