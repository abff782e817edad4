"""``python -m invlearn``: the ``invlearn`` command (:func:`invlearn.cli.main`)."""

import sys

from invlearn.cli import main

sys.exit(main())
