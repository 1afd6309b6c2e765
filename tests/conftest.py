"""Fixtures shared by the tests that cross the process boundary."""

import socket

import pytest


@pytest.fixture(scope="module")
def database():
    """The database setup/test runs pytest-odoo on (end-to-end tests commit to it)."""
    try:
        from odoo.tools import config
    except ImportError:
        config = {}
    name = (config.get("db_name") or "").split(",")[0]
    if not name:
        pytest.skip("needs the test database (run through setup/test)")
    return name


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
