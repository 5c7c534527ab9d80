"""A quick, bounded check that a download host can be reached (private)."""

from __future__ import annotations

import socket
import threading


def host_reachable(host: str, port: int = 443, timeout: float = 2.5) -> bool:
    """Whether a TCP connection to `host:port` opens within `timeout` seconds.

    Name resolution is included in the time limit (it runs in a daemon thread),
    so an offline machine answers in at most `timeout` seconds instead of the
    minutes a download library spends retrying.

    Args:
        host (str): Host name, e.g. ``"storage.googleapis.com"``.
        port (int): TCP port.
        timeout (float): Seconds to wait, name resolution included.

    Returns:
        bool: True if the connection opened.
    """
    result: list[bool] = []

    def _connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=_connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
