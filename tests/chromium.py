"""Open an HTML file in headless Chromium (Debian's ``chromium``) and report how its images decoded.

Skips only when chromium is absent and CI is not set; on CI a missing chromium fails the test (``.ci/run``
installs it).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")
# Appended to a copy of the page: once loaded, write every image's decoded width into the DOM that --dump-dom prints.
CHECK = ("<script>window.addEventListener('load',()=>{const p=document.createElement('pre');p.id='gda-check';"
         "p.textContent=JSON.stringify([...document.images].map(i=>i.naturalWidth));"
         "document.body.appendChild(p);});</script>")


def chromium() -> str:
    """The chromium executable; skips the test without it unless CI is set (then fails)."""
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI is set): apt-get install -y chromium")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


def decoded_image_widths(page: Path) -> list[int]:
    """The ``naturalWidth`` of each ``<img>`` of ``page`` after Chromium loaded it (0 = not decoded)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(page.read_text(encoding="utf-8") + CHECK, encoding="utf-8")
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", "--virtual-time-budget=10000",
             "--dump-dom", copy.as_uri()],
            capture_output=True, text=True, timeout=120, check=False,
        )
    found = re.search(r'<pre id="gda-check">(.*?)</pre>', result.stdout)
    assert found, f"chromium rendered no check (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(found.group(1))
