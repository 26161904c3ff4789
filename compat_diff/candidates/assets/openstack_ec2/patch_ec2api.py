"""Make ec2-api 17.0.0 authenticate itself when it asks Keystone to check an EC2 signature.

Keystone now requires an admin or service token on POST /v3/ec2tokens (upstream bug 2119646,
OSSA-2025-002, in Debian 12's python3-keystone 2:22.0.2-0+deb12u*); ec2-api, retired upstream in
2023, posts anonymously, so every EC2 call would fail with AuthFailure. This adds the token of
ec2-api's own service user. Idempotent; exits non-zero when the code to patch is not found.
"""

import sys
from pathlib import Path

import ec2api.api as module

path = Path(module.__file__)
source = path.read_text()
old = "        headers = {'Content-Type': 'application/json'}\n"
new = (
    "        headers = {'Content-Type': 'application/json',\n"
    "                   # compat-diff: keystone requires a service token here (OSSA-2025-002)\n"
    "                   'X-Auth-Token': clients.get_os_admin_session().get_token()}\n"
)
if new in source:
    print("already patched", path)
elif source.count(old) == 1:
    path.write_text(source.replace(old, new))
    print("patched", path)
else:
    sys.exit(f"ec2-api's ec2tokens call was not found in {path}; is this ec2-api 17.0.0?")
