"""``python -m training.synth`` (see ``training.synth.cli``)."""
import sys

from .cli import main

sys.exit(main())
