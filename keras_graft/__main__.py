"""``python -m keras_graft``: the `keras-graft` command line (see `keras_graft.cli`)."""

import sys

from keras_graft.cli import main

if __name__ == "__main__":
    sys.exit(main())
