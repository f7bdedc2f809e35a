"""The toy files of the audit's tests (audit_toy)."""

from __future__ import annotations

import pytest
from audit_toy import make_toy


@pytest.fixture
def toy(tmp_path):
    return make_toy(tmp_path)
