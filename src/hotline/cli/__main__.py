"""``python -m hotline.cli``: the same as the ``hotline`` console script."""

from hotline.cli import main

main()
