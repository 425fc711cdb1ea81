"""`python -m bot SUBCOMMAND`: process entry points that are not Flask CLI commands."""

from __future__ import annotations

import argparse
import os
import sys


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m bot", description="IT helpdesk bot")
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run everything in one process on SQLite with a fake LINE platform and the simulator"
    )
    demo.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    demo.add_argument("--reset", action="store_true", help="delete the demo SQLite database first")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "demo":
        from bot import demo

        try:
            return demo.run(host=args.host, port=args.port, reset=args.reset)
        except KeyboardInterrupt:  # Ctrl-C while still starting: no traceback
            return 130
    return 2  # argparse already refused anything else


if __name__ == "__main__":
    sys.exit(main())
