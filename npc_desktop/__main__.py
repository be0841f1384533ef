from npc_desktop.cli.main import main
import sys

sys.exit(main())
