"""Typed errors of PACS communication. Each names the node and says what to do."""

from __future__ import annotations


class PacsError(Exception):
    """A PACS operation failed; ``str()`` is one line naming the node and the problem.

    Parameters
    ----------
    node
        The node's name or address as the user knows it.
    problem
        What went wrong, and what to configure where that helps.
    """

    def __init__(self, node: str, problem: str) -> None:
        self.node = node
        self.problem = problem
        super().__init__(f"PACS node {node}: {problem}")


class PacsConnectionError(PacsError):
    """The node cannot be reached, refused the association, or stopped answering."""


class PacsRejectedError(PacsError):
    """The node rejected the association or the request (wrong AE title, unknown destination)."""


class PacsTimeoutError(PacsConnectionError):
    """The node stopped answering within the DIMSE or network timeout."""


class PacsTlsError(PacsConnectionError):
    """The TLS handshake failed: a certificate does not match or is not trusted."""


class NodeConfigError(Exception):
    """A node setting or the node configuration file is invalid; the message names it."""
