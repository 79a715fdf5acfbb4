"""Put the app's lib/ (its own library and pinned third-party packages) first on sys.path.

Every entry point in bin/ imports this module first, then hands off to cloudtrail_firehose.
"""

import os
import sys

LIB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")

if LIB_DIR not in sys.path:
    sys.path.insert(0, LIB_DIR)
