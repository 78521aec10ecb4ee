"""2BA client conformance kit: drives an OAuth client through an adapter against the mock
2BA authorization server and judges each check from the mock's request journal."""

import os
import re


def _project_version():
    """The project's version: the VERSION file an install writes beside the kit, or else the
    project() line of the source tree's top-level CMakeLists.txt (one version for everything)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        with open(os.path.join(here, "..", "VERSION")) as f:
            return f.read().strip()
    except OSError:
        pass
    try:
        with open(os.path.join(here, "..", "..", "CMakeLists.txt")) as f:
            m = re.search(r"project\(\s*\w+\s+VERSION\s+([0-9][0-9.]*)", f.read())
        if m:
            return m.group(1)
    except OSError:
        pass
    return "unknown"


VERSION = _project_version()
ADAPTER_PROTOCOL_VERSION = 2
