"""TOTP codes of an otpauth:// URI computed by pyotp, an implementation independent of ours.

Usage: totp_codes.py URI
Prints JSON: the code now, one step (30 s) before and after, and three steps before
(outside any window the workbench accepts), with the Unix time they were computed at.
"""

import json
import sys
import time

import pyotp


def main() -> None:
    totp = pyotp.parse_uri(sys.argv[1])
    assert isinstance(totp, pyotp.TOTP), "a TOTP URI"
    now = int(time.time())
    print(
        json.dumps(
            {
                "time": now,
                "now": totp.at(now),
                "previous": totp.at(now - 30),
                "next": totp.at(now + 30),
                "stale": totp.at(now - 90),
                "digits": totp.digits,
                "interval": totp.interval,
                "issuer": totp.issuer,
                "name": totp.name,
            }
        )
    )


if __name__ == "__main__":
    main()
