"""Register a throwaway member on a running Village and print its session cookie ("name=value; …"),
so the external checks can also look at pages only members see (the compose page).

    python .ci/sign_in.py http://127.0.0.1:18701
"""

from __future__ import annotations

import http.cookiejar
import re
import secrets
import sys
import urllib.parse
import urllib.request


def main(base: str) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/register").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    name = f"qa{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    data = urllib.parse.urlencode(
        {"csrf_token": token, "pseudonym": name, "email": f"{name}@qa.example.com", "password": password}
    ).encode()
    page = opener.open(f"{base}/register", data=data)
    if page.geturl().rstrip("/").endswith("/register"):
        sys.exit("sign_in: registration was refused")
    print("; ".join(f"{cookie.name}={cookie.value}" for cookie in jar))


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
