"""PACS nodes: DIMSE (AE title, host, port) or DICOMweb (base URL), with TLS and timeouts."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Optional

from npc_desktop.core.network.errors import NodeConfigError

DEFAULT_OUR_AET = "NPCDESKTOP"
AE_TITLE_PATTERN = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # 16 printable characters, no backslash
_DIMSE_SPEC = re.compile(r"^(?P<aet>[^@]+)@(?P<host>\[[^\]]+\]|[^:]+):(?P<port>\d{1,5})$")


def check_ae_title(title: str, what: str = "AE title") -> str:
    """Return ``title`` stripped, or raise :class:`NodeConfigError` naming it when it is not a valid AE title."""
    stripped = (title or "").strip()
    if not AE_TITLE_PATTERN.match(stripped):
        raise NodeConfigError(f"{what} {title!r} is not valid: use 1 to 16 printable characters without a backslash")
    return stripped


@dataclass(frozen=True)
class TlsSettings:
    """TLS for a node. The server certificate is verified against ``ca_file`` (or the system store).

    Attributes
    ----------
    enabled
        Use TLS.
    ca_file
        PEM file of the certificate authorities trusted for the server; the system store when empty.
    client_cert, client_key
        Our certificate and key (PEM) when the server asks for one.
    verify_hostname
        Check that the server certificate names the host (on by default).
    """

    enabled: bool = False
    ca_file: str = ""
    client_cert: str = ""
    client_key: str = ""
    verify_hostname: bool = True


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait: for the TCP connection, the association (ACSE) and each DIMSE answer."""

    connect: float = 10.0
    acse: float = 30.0
    dimse: float = 60.0


@dataclass(frozen=True)
class PacsNode:
    """A PACS the workstation talks to.

    Attributes
    ----------
    name
        What the user calls it (unique among saved nodes).
    ae_title, host, port
        The DIMSE address (``url`` empty).
    url
        The DICOMweb base URL (``host`` empty).
    our_aet
        Our AE title when calling this node.
    tls, timeouts
        Connection settings.
    """

    name: str
    ae_title: str = ""
    host: str = ""
    port: int = 0
    url: str = ""
    our_aet: str = DEFAULT_OUR_AET
    tls: TlsSettings = field(default_factory=TlsSettings)
    timeouts: Timeouts = field(default_factory=Timeouts)

    @property
    def is_dicomweb(self) -> bool:
        """True for a DICOMweb node (a base URL), False for DIMSE."""
        return bool(self.url)

    @property
    def address(self) -> str:
        """``AET@HOST:PORT`` or the URL: how messages name the node beside its name."""
        return self.url if self.is_dicomweb else f"{self.ae_title}@{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """The name and address for messages (secrets never included)."""
        return self.name if self.name == self.address else f"{self.name} ({self.address})"

    def validated(self) -> "PacsNode":
        """Return the node with stripped fields; raise :class:`NodeConfigError` naming a bad setting."""
        name = self.name.strip()
        if not name:
            raise NodeConfigError("a PACS node needs a name")
        our_aet = check_ae_title(self.our_aet, f"node {name}: our AE title")
        if self.url:
            if not re.match(r"^https?://[^/\s]+", self.url.strip()):
                raise NodeConfigError(f"node {name}: the DICOMweb URL {self.url!r} must start with http:// or https://")
            return replace(self, name=name, url=self.url.strip().rstrip("/"), our_aet=our_aet)
        ae_title = check_ae_title(self.ae_title, f"node {name}: the AE title")
        if not self.host.strip():
            raise NodeConfigError(f"node {name}: the host is empty")
        if not 1 <= int(self.port) <= 65535:
            raise NodeConfigError(f"node {name}: the port {self.port} is not between 1 and 65535")
        for label, value in (("connect", self.timeouts.connect), ("ACSE", self.timeouts.acse),
                             ("DIMSE", self.timeouts.dimse)):
            if not value > 0:
                raise NodeConfigError(f"node {name}: the {label} timeout must be more than 0 s")
        return replace(self, name=name, ae_title=ae_title, host=self.host.strip(), port=int(self.port),
                       our_aet=our_aet)

    def to_dict(self) -> dict:
        """JSON-ready settings."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PacsNode":
        """Read settings written by :meth:`to_dict`; raise :class:`NodeConfigError` naming a bad field."""
        try:
            tls = TlsSettings(**(data.get("tls") or {}))
            timeouts = Timeouts(**{k: float(v) for k, v in (data.get("timeouts") or {}).items()})
            fields = {k: data[k] for k in ("name", "ae_title", "host", "port", "url", "our_aet") if k in data}
            return cls(**fields, tls=tls, timeouts=timeouts).validated()
        except (TypeError, ValueError) as exc:
            raise NodeConfigError(f"PACS node {data.get('name', '?')!r}: {exc}") from exc


def parse_node_spec(spec: str, saved: Optional[dict[str, PacsNode]] = None, *, our_aet: Optional[str] = None,
                    timeouts: Optional[Timeouts] = None) -> PacsNode:
    """Resolve NODE as the CLI takes it: a saved node's name, ``AET@HOST:PORT`` or an http(s) DICOMweb URL.

    Parameters
    ----------
    spec
        The text the user gave.
    saved
        Saved nodes by name.
    our_aet
        Our AE title, overriding the node's.
    timeouts
        Timeouts for an ad-hoc node (saved nodes keep theirs).

    Returns
    -------
    PacsNode
        A validated node.

    Raises
    ------
    NodeConfigError
        When ``spec`` is none of the three forms.
    """
    saved = saved or {}
    text = spec.strip()
    if text in saved:
        node = saved[text]
    elif text.lower().startswith(("http://", "https://")):
        node = PacsNode(name=text, url=text, timeouts=timeouts or Timeouts())
    else:
        match = _DIMSE_SPEC.match(text)
        if match is None:
            known = ", ".join(sorted(saved)) or "none saved"
            raise NodeConfigError(
                f"node {spec!r} is not a saved node ({known}), AET@HOST:PORT or an http(s) DICOMweb URL")
        node = PacsNode(name=text, ae_title=match["aet"], host=match["host"].strip("[]"), port=int(match["port"]),
                        timeouts=timeouts or Timeouts())
    if our_aet:
        node = replace(node, our_aet=our_aet)
    return node.validated()
