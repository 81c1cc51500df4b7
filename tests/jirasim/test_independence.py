"""jirasim is the oracle: it must not import the portal's code, nor need Django."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("connect", "incidents", "portal", "django", "rest_framework", "atlassian_jwt")


def test_importing_every_jirasim_module_loads_no_portal_code_nor_django():
    modules = sorted(p.stem for p in (ROOT / "jirasim").glob("*.py") if p.stem != "__main__")
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module('jirasim.' + name if name != "
        "'__init__' else 'jirasim')\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
