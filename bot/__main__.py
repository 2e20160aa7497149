"""``python -m bot`` is the same as the ``aarshjul`` command."""

from bot.cli import main

main()
