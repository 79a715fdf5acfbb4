"""moto_server, plus the CloudFormation resource types moto lacks (see moto_shims.py).

    .venv/bin/python tests/standins/moto_server.py -H 127.0.0.1 -p 5000

Then point the app's command line at it with AWS_ENDPOINT_URL=http://127.0.0.1:5000.
"""

from __future__ import annotations

import sys

import moto_shims  # noqa: F401 - registers the shims before the server starts
from moto.server import main

if __name__ == "__main__":
    main(sys.argv[1:])
