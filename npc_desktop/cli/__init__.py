"""The ``npc-desktop`` console entry point (:mod:`.main`) and one module per subcommand group:
:mod:`.staging` (stage, bundle), :mod:`.research` (export, train, evaluate), :mod:`.report`."""
