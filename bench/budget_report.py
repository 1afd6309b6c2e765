#!/usr/bin/env python3
"""Budget and commitments report at 10k and 100k analytic lines (default 2k and
20k; --full for the issue's sizes): time and SQL query count of
  * refreshing the Actual column of a project's budget from the analytic ledger,
  * reading the job-cost report (every column of every budget line, and the pivot's
    grouped totals by cost code),
  * the nightly reconciliation when it is installed (construction.reconciliation.run,
    built in parallel): the hook below runs it for the project, else "n/a".
The ratio large/small must stay near 1 for queries (flat per line) and well under
the data ratio (10) for time.
"""

from _common import Database, odoo_exec, parser, report, self_peak_mb

CODE = """
import datetime
company = env.ref("base.main_company")
Plan = env["account.analytic.plan"]
cc_col = Plan._construction_column("cost_code")
ct_col = Plan._construction_column("cost_type")
project = env["project.project"].create(
    {"name": f"Bench budget {SIZE}", "company_id": company.id})
if not project.account_id:
    project._create_analytic_account()
budget = env["construction.budget"].search([("project_id", "=", project.id)], limit=1) \
    or env["construction.budget"].create({"project_id": project.id})
codes = env["account.analytic.account"].search(
    [("construction_role", "=", "cost_code"), ("company_id", "=", company.id)],
    limit=40)
types = env["account.analytic.account"].search(
    [("construction_role", "=", "cost_type")])
env["construction.budget.line"].create([
    {"budget_id": budget.id, "cost_code_id": c.id, "cost_type_id": t.id,
     "original_amount": 10000}
    for c in codes for t in types])
env.flush_all()
# the ledger: SIZE posted cost lines spread over the codes and types, in one INSERT
cr.execute(f'''
    INSERT INTO account_analytic_line
        (name, date, amount, unit_amount, account_id, {cc_col}, {ct_col}, company_id,
         currency_id, category, create_date, write_date, create_uid, write_uid)
    SELECT 'bench cost ' || g, CURRENT_DATE, -(g %% 97 + 1)::numeric, 1, %s,
           (%s::int[])[g %% %s + 1], (%s::int[])[g %% %s + 1], %s, %s, 'other',
           now(), now(), 1, 1
    FROM generate_series(1, %s) g''', (project.account_id.id, codes.ids, len(codes),
        types.ids, len(types), company.id, company.currency_id.id, SIZE))
cr.execute("ANALYZE account_analytic_line")
env.invalidate_all()

def measure(fn):
    env.invalidate_all()
    q0 = cr.sql_log_count
    t0 = time.perf_counter()
    fn()
    env.flush_all()
    return time.perf_counter() - t0, cr.sql_log_count - q0

def refresh():
    budget.action_refresh_actuals()

columns = [name for name, field in env["construction.budget.line"]._fields.items()
           if field.type == "monetary" and field.store]
def read_report():
    budget.line_ids.read(columns + ["cost_code_id", "cost_type_id"])
    env["construction.budget.line"].read_group(
        [("budget_id", "=", budget.id)], [c + ":sum" for c in columns],
        ["cost_code_id"])
    budget.read(["name"])

result = {"refresh": measure(refresh), "report": measure(read_report)}
expected = -sum(-(g % 97 + 1) for g in range(1, SIZE + 1))
actual = sum(budget.line_ids.mapped("actual_amount"))
result["actual_ok"] = abs(actual - expected) < 0.01
result["budget_lines"] = len(budget.line_ids)
# hook: nightly reconciliation (construction.reconciliation.run), when installed
if "construction.reconciliation.run" in env:
    backend = env["construction.backend"].create(
        {"name": f"Bench reconcile {SIZE}", "kind": "project_management",
         "company_id": company.id})
    try:
        result["reconcile"] = measure(
            lambda: env["construction.reconciliation.run"]._reconcile(backend, project))
    except Exception as err:  # the hook reports, the benchmark goes on
        cr.rollback()
        result["reconcile"] = None
        result["reconcile_error"] = repr(err)
else:
    result["reconcile"] = None
"""


def main():
    p = parser(__doc__)
    p.add_argument("--small", type=int, default=2000)
    p.add_argument("--large", type=int, default=20000)
    args = p.parse_args()
    if args.full:
        args.small, args.large = 10000, 100000
    results = {}
    peaks = []
    with Database(args) as database:
        for size in (args.small, args.large):
            results[size], peak = odoo_exec(database.name, CODE, {"SIZE": size})
            peaks.append((f"Odoo process at {size} lines", peak))
            assert results[size]["actual_ok"], "Actual column differs from the ledger"
    small, large = results[args.small], results[args.large]
    rows, ratios = [], []
    for key, label in (
        ("refresh", "refresh Actual from the ledger"),
        ("report", "read the job-cost report + pivot totals"),
        ("reconcile", "nightly reconciliation of the project"),
    ):
        if small[key] is None or large[key] is None:
            error = small.get("reconcile_error") or large.get("reconcile_error")
            rows.append((label, f"failed: {error}" if error else "n/a (not installed)"))
            continue
        for size, res in ((args.small, small), (args.large, large)):
            seconds, queries = res[key]
            rows.append(
                (
                    f"{label} @ {size} lines",
                    f"{seconds * 1000:.0f} ms, {queries} queries",
                )
            )
        ratios.append(
            (f"{label}: time {args.large}/{args.small}", large[key][0] / small[key][0])
        )
        ratios.append(
            (
                f"{label}: queries {args.large}/{args.small}",
                large[key][1] / max(1, small[key][1]),
            )
        )
    rows.append(("budget lines", str(large["budget_lines"])))
    report(
        f"Budget report at {args.small} vs {args.large} analytic lines",
        rows,
        ratios,
        peaks + [("bench client", self_peak_mb())],
    )


if __name__ == "__main__":
    main()
