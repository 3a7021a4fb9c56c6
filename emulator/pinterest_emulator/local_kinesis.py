"""A local Kinesis endpoint: moto's server in a background thread on 127.0.0.1.

The gateway starts one when it is given no Kinesis endpoint; the demo, the tests and the benchmarks start
their own when the streams must outlive a gateway (the streaming job reads them after the posts). moto's
servers in one process share one in-memory account, so users of a shared server keep to stream names of
their own.
"""

from __future__ import annotations

import logging

_SERVERS: dict[str, object] = {}


def start_moto() -> str:
    """Start moto's server in a background thread on 127.0.0.1 (a free port); returns its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _SERVERS[url] = server
    return url


def stop_moto(url: str) -> None:
    """Stop a server started by `start_moto` (a URL it did not start is ignored)."""
    server = _SERVERS.pop(url, None)
    if server is not None:
        server.stop()
