"""A stand-in for `densexp run` that a cancel must reach with SIGINT.

It installs its SIGINT handler (as densexp run does: a child of a background CI shell may
inherit another disposition), prints "ready" once it is in place, exits 0 on SIGINT
(KeyboardInterrupt) and 3 if nobody signals it within 600 s (long: a loaded machine can
take half a minute to get to the cancel).
"""

from __future__ import annotations

import subprocess
import sys

CODE = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "try:\n"
    "    print('ready', flush=True)\n"  # inside the try: a SIGINT right after it is caught
    "    time.sleep(600)\n"
    "except KeyboardInterrupt:\n    sys.exit(0)\nsys.exit(3)\n"
)


def start_standin() -> subprocess.Popen[str]:
    """The stand-in, started and ready to be signalled."""
    process = subprocess.Popen([sys.executable, "-c", CODE], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process
