"""setup/check_log: which lines of an install log fail setup/test."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAMP = "2026-12-03 16:29:59,123 4242"
LOG = f"""\
{STAMP} WARNING construction_test_1 odoo.addons.account.models.x: about invoices
{STAMP} WARNING construction_test_1 odoo.addons.construction_billing.models.y: ours
{STAMP} WARNING construction_test_1 odoo.fields: Field construction.budget.line.foo: \
unknown parameter 'tracking'
{STAMP} WARNING construction_test_1 odoo.models: Two fields (a, b) of res.partner() \
have the same label: X.
{STAMP} INFO construction_test_1 odoo.modules.loading: construction loaded
"""


def check(tmp_path, log, allowlist=None):
    path = tmp_path / "install.log"
    path.write_text(log)
    args = [sys.executable, str(REPO / "setup" / "check_log"), str(path)]
    if allowlist is not None:
        (tmp_path / "allow").write_text(allowlist)
        args.append(str(tmp_path / "allow"))
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout.splitlines()


def test_warnings_about_our_addons_fail(tmp_path):
    # The database name says "construction": only logger and message count.
    status, lines = check(tmp_path, LOG, allowlist="")
    assert status == 1
    assert [line.split(": ", 1)[0].rsplit(" ", 1)[1] for line in lines] == [
        "odoo.addons.construction_billing.models.y",
        "odoo.fields",
    ]


def test_errors_fail_and_allowlist_silences_warnings(tmp_path):
    error = f"{STAMP} ERROR construction_test_1 odoo.modules.loading: boom\n"
    allow = (
        "# tracking on a field of ours is harmless here\nunknown parameter .tracking.\n"
    )
    status, lines = check(tmp_path, LOG + error, allowlist=allow)
    assert status == 1
    assert len(lines) == 2
    assert lines[1].endswith("odoo.modules.loading: boom")
    status, lines = check(
        tmp_path, LOG, allowlist=allow + "^odoo.addons.construction_billing\n"
    )
    assert (status, lines) == (0, [])


def test_clean_log_passes_with_the_shipped_allowlist(tmp_path):
    assert check(tmp_path, LOG.splitlines(keepends=True)[0]) == (0, [])
