"""Command line: ``python -m geo``.

One module per command group: :mod:`~geo.cli.main` (parser, demo, import, info),
:mod:`~geo.cli.zones` and :mod:`~geo.cli.lighting` (``rank``), :mod:`~geo.cli.users`
(``users``); shared options in :mod:`~geo.cli.args`.
"""

__all__ = ["args", "lighting", "main", "users", "zones"]
