"""``python -m perfxl``: the command line where the ``perfxl`` script is not on PATH (common on office PCs)."""

from perfxl.cli import main

if __name__ == "__main__":
    main()
