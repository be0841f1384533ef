"""``python -m npc_desktop.cli``: the same as the ``npc-desktop`` command."""

from npc_desktop.cli.main import main

raise SystemExit(main())
