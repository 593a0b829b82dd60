"""``python -m socialaudit.simulator [--port 8765] [--config FILE] [--latency 0.05]``: serve until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from socialaudit.simulator.server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialaudit.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765, the demo config's)")
    parser.add_argument("--config", default=None, help="trust config whose events the data set promotes")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    args = parser.parse_args(argv)
    try:
        sim = Simulator(host=args.host, port=args.port, config_path=args.config, latency=args.latency)
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"simulator listening on {sim.url}", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
