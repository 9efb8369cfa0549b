"""``python -m twin``: the command line (same as the ``twin`` script)."""

from .cli import main

if __name__ == "__main__":
    main()
