#!/usr/bin/env python3
"""Pay application with a large schedule of values: create the application (its
G703 lines from the SOV), enter progress on every line and recompute G702/G703,
then render the G702/G703 report (HTML always; PDF when wkhtmltopdf is installed).
Baseline in the same run: the same with a 50-line SOV; the ratio per line shows
whether the cost grows linearly (ratio of the per-line times ~1) or worse.
"""

import shutil

from _common import Database, odoo_exec, parser, report, self_peak_mb

CODE = """
from odoo import Command
company = env.ref("base.main_company")
project = env["project.project"].create(
    {"name": f"Bench SOV {LINES}", "company_id": company.id})
customer = env["res.partner"].create({"name": f"Bench owner {LINES}"})
code = env["account.analytic.account"].search(
    [("construction_role", "=", "cost_code"), ("company_id", "=", company.id)], limit=1)
contract = env["construction.contract"].create({
    "project_id": project.id, "partner_id": customer.id,
    "original_contract_sum": 1000.0 * LINES, "retainage_rate_work": 10.0,
    "retainage_rate_stored": 5.0,
    "sov_line_ids": [Command.create({"sequence": i, "item_no": str(i + 1),
        "name": f"Item {i + 1}", "cost_code_id": code.id, "original_value": 1000.0})
        for i in range(LINES)],
})
contract.action_activate()
env.flush_all()

def measure(fn):
    env.invalidate_all()
    q0 = cr.sql_log_count
    t0 = time.perf_counter()
    value = fn()
    env.flush_all()
    return value, time.perf_counter() - t0, cr.sql_log_count - q0

app, t_create, q_create = measure(lambda: env["construction.pay.application"].create(
    {"contract_id": contract.id, "period_to": "2026-01-31", "date": "2026-01-31"}))

def enter():
    # what the form's save (and a progress report) does: every line in one write
    app.write({"line_ids": [Command.update(line.id, {
        "work_this_period": 100.0 + i % 7, "stored_to_date": 10.0})
        for i, line in enumerate(app.line_ids.sorted("id"))]})
    return app.current_payment_due
due, t_enter, q_enter = measure(enter)
expected_work = sum(100.0 + i % 7 for i in range(LINES))
Report = env["ir.actions.report"]
name = "construction_billing.report_pay_application"
_html, t_html, q_html = measure(lambda: Report._render_qweb_html(name, app.ids))
pdf = None
if WITH_PDF:
    data, t_pdf, q_pdf = measure(lambda: Report._render_qweb_pdf(name, app.ids)[0])
    pdf = [t_pdf, q_pdf, len(data)]
result = {"create": [t_create, q_create], "enter": [t_enter, q_enter],
          "html": [t_html, q_html], "pdf": pdf, "lines": len(app.line_ids),
          "work_ok": abs(app.completed_work_to_date - expected_work) < 0.01,
          "due": due}
cr.rollback()
"""


def main():
    p = parser(__doc__)
    p.add_argument("--lines", type=int, default=500)
    p.add_argument("--baseline", type=int, default=50)
    args = p.parse_args()
    with_pdf = bool(shutil.which("wkhtmltopdf"))
    results, peaks = {}, []
    with Database(args) as database:
        for size in (args.baseline, args.lines):
            results[size], peak = odoo_exec(
                database.name, CODE, {"LINES": size, "WITH_PDF": with_pdf}
            )
            peaks.append((f"Odoo process, {size}-line SOV", peak))
            assert results[size]["lines"] == size
            assert results[size]["work_ok"], "G702 completed work is wrong"
    rows, ratios = [], []
    steps = [("create", "create the application (G703 lines)")]
    steps += [("enter", "enter progress on every line + G702 recompute")]
    steps += [("html", "render G702/G703 (HTML)")]
    if with_pdf:
        steps.append(("pdf", "render G702/G703 (PDF, wkhtmltopdf)"))
    else:
        rows.append(("PDF", "n/a: wkhtmltopdf is not installed"))
    for key, label in steps:
        for size in (args.baseline, args.lines):
            seconds, queries = results[size][key][:2]
            rows.append(
                (f"{label} @ {size}", f"{seconds * 1000:.0f} ms, {queries} queries")
            )
        big, small = results[args.lines][key], results[args.baseline][key]
        per_line = (big[0] / args.lines) / (small[0] / args.baseline)
        ratios.append(
            (f"{label}: time per line {args.lines}/{args.baseline}", per_line)
        )
    report(
        f"Pay application, {args.lines}-line SOV (baseline {args.baseline})",
        rows,
        ratios,
        peaks + [("bench client", self_peak_mb())],
    )


if __name__ == "__main__":
    main()
