"""Exit 0 when GET <url> answers 200, else 1 with the answer (compose's healthcheck for web: /health/).

Only the standard library, so it runs in the image as it is. X-Forwarded-Proto tells Django the probe came
through the TLS proxy, as production traffic does, so SECURE_SSL_REDIRECT does not answer it with a redirect.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/health/"

try:
    request = urllib.request.Request(URL, headers={"X-Forwarded-Proto": "https", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as error:
    print(error.code, error.read(2000).decode(errors="replace"))
    sys.exit(1)
except OSError as error:
    print(error)
    sys.exit(1)
