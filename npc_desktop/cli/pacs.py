"""``npc-desktop pacs``: echo, find, get, send and listen against a PACS (DIMSE or DICOMweb).

NODE is a saved node's name, ``AET@HOST:PORT`` or an http(s) DICOMweb base URL. Exit status 0 on
success; 2 with one line naming the node and the problem otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from npc_desktop.core.network.nodes import DEFAULT_OUR_AET


def register(commands: "argparse._SubParsersAction") -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the ``pacs`` subcommand group to ``commands``; return its handler."""
    pacs = commands.add_parser("pacs", help="query, retrieve, send to and receive from a PACS")
    actions = pacs.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--our-aet", default=None, help=f"our AE title (default: the node's, else {DEFAULT_OUR_AET})")
    common.add_argument("--connect-timeout", type=float, default=None, help="seconds to wait for the connection")
    node = argparse.ArgumentParser(add_help=False)
    node.add_argument("node", metavar="NODE", help="saved node name, AET@HOST:PORT or http(s) DICOMweb URL")

    actions.add_parser("echo", parents=[node, common], help="check that the node answers (C-ECHO)")
    find = actions.add_parser("find", parents=[node, common], help="search studies or series (C-FIND / QIDO-RS)")
    find.add_argument("--level", choices=("study", "series"), default="study")
    find.add_argument("--patient-id", default="", help="patient ID (wildcards * and ?)")
    find.add_argument("--patient-name", default="", help="patient name (wildcards * and ?)")
    find.add_argument("--date", default="", help="study date YYYYMMDD or range YYYYMMDD-YYYYMMDD")
    find.add_argument("--modality", default="", help="modality, e.g. MR")
    find.add_argument("--accession", default="", help="accession number")
    find.add_argument("--study", default="", help="Study Instance UID (needed for --level series)")
    find.add_argument("--description", default="", help="study description (wildcards * and ?)")
    find.add_argument("--json", action="store_true", help="print JSON")
    get = actions.add_parser("get", parents=[node, common], help="retrieve a study or series into a folder")
    get.add_argument("--study", required=True, help="Study Instance UID")
    get.add_argument("--series", default="", help="Series Instance UID (default: the whole study)")
    get.add_argument("-o", "--output", required=True, help="the study store folder (one sub-folder per study)")
    get.add_argument("--method", choices=("get", "move", "wado"), default=None,
                     help="C-GET (default for DIMSE), C-MOVE or WADO-RS (default for a URL)")
    get.add_argument("--port", type=int, default=None, help="our Storage SCP port for C-MOVE (default 11113)")
    send = actions.add_parser("send", parents=[node, common], help="send DICOM files (C-STORE / STOW-RS)")
    send.add_argument("files", nargs="+", metavar="FILE")
    listen = actions.add_parser("listen", parents=[common], help="receive studies pushed to our Storage SCP")
    listen.add_argument("--port", type=int, required=True, help="port to listen on")
    listen.add_argument("--aet", default=None, help=f"the AE title we answer to (default {DEFAULT_OUR_AET})")
    listen.add_argument("-o", "--output", required=True, help="the study store folder")
    listen.add_argument("--exit-after", type=int, default=0, help=argparse.SUPPRESS)
    return {"pacs": _cmd_pacs}


def _resolve(args: argparse.Namespace):
    from npc_desktop.core.network import load_nodes, parse_node_spec

    saved = load_nodes()
    node = parse_node_spec(args.node, saved, our_aet=args.our_aet)
    if args.connect_timeout is not None:
        node = replace(node, timeouts=replace(node.timeouts, connect=args.connect_timeout)).validated()
    return node


def _print_studies(results: list) -> None:
    for study in results:
        counts = f"{study.series_count if study.series_count is not None else '?'} series, " \
                 f"{study.image_count if study.image_count is not None else '?'} images"
        print(f"{study.study_uid}  {study.study_date or '-'}  {study.patient_name or '(no name)'}  "
              f"ID {study.patient_id or '-'}  {'/'.join(study.modalities) or '-'}  "
              f'"{study.description}"  {counts}')


def _print_series(results: list) -> None:
    for series in results:
        count = series.image_count if series.image_count is not None else "?"
        print(f"{series.series_uid}  #{series.number if series.number is not None else '-'}  "
              f'{series.modality or "-"}  "{series.description}"  {count} images')


def _find(args: argparse.Namespace) -> int:
    from npc_desktop.core.network import FindQuery, find_studies

    query = FindQuery(level=args.level, patient_id=args.patient_id, patient_name=args.patient_name, date=args.date,
                      modality=args.modality, accession=args.accession, study_uid=args.study,
                      study_description=args.description)
    results = find_studies(_resolve(args), query)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    elif args.level == "study":
        _print_studies(results)
    else:
        _print_series(results)
    if not args.json:
        print(f"{len(results)} {args.level}(s) found", file=sys.stderr)
    return 0


def _get(args: argparse.Namespace) -> int:
    from npc_desktop.core.network import DEFAULT_MOVE_PORT, StudyStore, retrieve_study

    node = _resolve(args)
    store = StudyStore(Path(args.output))
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.5 or done == total:
            last[0] = now
            print(f"\r{done}/{total} images", end="", file=sys.stderr, flush=True)

    report = retrieve_study(node, store, args.study, args.series, method=args.method or "",
                            port=args.port or DEFAULT_MOVE_PORT, progress=progress if sys.stderr.isatty() else None)
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(report.summary())
    return 0


def _send(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.network import send_files

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        raise UsageError(f"{missing[0]}: no such file")
    node = _resolve(args)
    report = send_files(node, [Path(f) for f in args.files])
    for path in report.sent:
        print(f"sent {path}")
    if report.failed:
        raise UsageError(f"PACS node {node.label}: {len(report.failed)} of {len(args.files)} file(s) not sent: "
                         f"{report.failed[0]}")
    return 0


def _listen(args: argparse.Namespace) -> int:
    from npc_desktop.core.network import StorageListener, StudyStore

    received = threading.Semaphore(0)

    def announce(path: Path) -> None:
        print(f"received {path}", flush=True)
        received.release()

    listener = StorageListener(StudyStore(Path(args.output)), args.aet or args.our_aet or DEFAULT_OUR_AET, args.port,
                               on_stored=announce).start()
    print(f"listening as {listener.server.ae_title} on port {args.port}; Ctrl+C stops", file=sys.stderr, flush=True)
    try:
        if args.exit_after:
            for _ in range(args.exit_after):
                received.acquire()
        else:
            threading.Event().wait()
    finally:
        listener.stop()
    return 0


def _cmd_pacs(args: argparse.Namespace) -> int:
    from npc_desktop.cli.main import UsageError
    from npc_desktop.core.network import NodeConfigError, PacsError, verify_node

    try:
        if args.pacs_command == "echo":
            print(verify_node(_resolve(args)))
            return 0
        return {"find": _find, "get": _get, "send": _send, "listen": _listen}[args.pacs_command](args)
    except (PacsError, NodeConfigError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{getattr(exc, 'filename', None) or 'store'}: {exc.strerror or exc}") from None
