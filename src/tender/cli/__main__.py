"""``python -m tender.cli``: the same as the ``tender`` command."""

import os
import sys

from tender.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
