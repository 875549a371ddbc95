"""Run moto server (the AWS API emulator) on a loopback port, tied to a parent.

Prints one line `MOTO_ENDPOINT=http://127.0.0.1:PORT` once it accepts requests,
then serves until its standard input closes (the parent exited, whatever the
way: normal exit, Ctrl-C, SIGKILL) or it receives SIGINT/SIGTERM. Tying the
emulator's life to a pipe is what guarantees no orphan emulator process.

Usage: python scripts/emulator.py [--port N] [--detach-stdin]
  --port 0 (default) picks a free port.
  --detach-stdin serves until signalled, ignoring stdin (for shell scripts).
"""

import argparse
import logging
import signal
import sys
import threading

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

import moto_speedups  # noqa: F401  (speeds up moto, same answers; see the module)
from werkzeug.serving import BaseWSGIServer

# werkzeug listens with a queue of 128: a burst of a thousand connections
# (a flash crowd's lookups, each opening its own) then has its surplus SYNs
# dropped and times out connecting. DynamoDB takes such bursts; so must we.
BaseWSGIServer.request_queue_size = 4096


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--detach-stdin", action="store_true")
    args = parser.parse_args()
    # One log line per request would drown the callers' own output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"MOTO_ENDPOINT=http://{host}:{port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not args.detach_stdin:
        def wait_for_parent() -> None:
            sys.stdin.read()  # returns at EOF: the parent is gone
            stop.set()

        threading.Thread(target=wait_for_parent, daemon=True).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
