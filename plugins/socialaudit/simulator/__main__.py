"""``python -m socialaudit.simulator [--port 8765] [--config FILE] [--latency 0.05]``: serve until Ctrl-C.

``--generate N [--seed S] --write-config FILE`` serves a generated trust of N fictional schools instead
of the demo's six (a website feed, a Mastodon and a Bluesky account each) and writes the trust config
whose accounts point at it (``--names FILE``: the schools' names, one a line, instead of fictional ones).
``--now 2026-11-23T00:00:00+00:00`` fixes the simulator's clock (benchmarks: the same posts every run).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from socialaudit.simulator.dataset import GeneratedSchool, generated_config, generated_trust
from socialaudit.simulator.server import Simulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m socialaudit.simulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765, the demo config's)")
    parser.add_argument("--config", default=None, help="trust config whose events the data set promotes")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    parser.add_argument("--generate", type=int, default=0, metavar="N",
                        help="serve a generated trust of N fictional schools instead of the demo's")
    parser.add_argument("--seed", type=int, default=0, help="the generated trust's seed (default 0)")
    parser.add_argument("--write-config", default=None, metavar="FILE",
                        help="with --generate: write the generated trust's config (YAML) here")
    parser.add_argument("--names", default=None, metavar="FILE",
                        help="with --generate: the schools' names, one a line (default: fictional names)")
    parser.add_argument("--now", default=None, metavar="ISO",
                        help="fix the simulator's clock at this ISO 8601 time with its offset (default: the wall clock)")
    args = parser.parse_args(argv)
    if args.generate < 0 or args.generate > 100_000:
        parser.error("--generate takes 1 to 100000 schools")
    if args.write_config and not args.generate:
        parser.error("--write-config needs --generate")
    if args.names and not args.generate:
        parser.error("--names needs --generate")
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            parser.error(f"--now: not an ISO 8601 time: {args.now!r}")
        if now.tzinfo is None:
            parser.error("--now needs an offset (for example +00:00)")
    names: list[str] = []
    if args.names:
        try:
            names = [line.strip() for line in Path(args.names).read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            parser.error(f"--names: cannot read {args.names}: {exc}")
    profiles = None
    schools: list[GeneratedSchool] = []
    if args.generate:
        schools, profiles = generated_trust(args.generate, seed=args.seed, names=names)
    try:
        sim = Simulator(host=args.host, port=args.port, config_path=args.config, latency=args.latency, profiles=profiles,
                        now=now)
    except OSError as exc:
        print(f"simulator: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    if args.write_config:
        import yaml

        try:
            Path(args.write_config).write_text(yaml.safe_dump(generated_config(schools, sim.url), sort_keys=False),
                                               encoding="utf-8")
        except OSError as exc:
            print(f"simulator: cannot write {args.write_config}: {exc.strerror}", file=sys.stderr)
            return 2  # the listening socket closes with the process
        print(f"wrote the config of {len(schools)} generated schools to {args.write_config}", flush=True)
    print(f"simulator listening on {sim.url}", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
