import sys

from npc_desktop.cli.main import main

sys.exit(main())
