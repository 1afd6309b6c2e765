"""Provisioning step of setup/demo (run by it with the Odoo environment; not a
command of its own): the two reference systems as external systems (integration
user, a new API key, a signing secret, outbound URL and subscriptions), and a fresh
project for this run (budget, prime contract with its schedule of values, project
mapping, a confirmed electrical subcontract). Prints one JSON document for
reference.scenario on stdout.

    python3 setup/_demo_provision.py DB ADDONS_PATH PM_WEBHOOK_URL PORTAL_WEBHOOK_URL
"""

import json
import secrets
import sys

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry

PROJECT = "Lakeside Library Renovation"
BUDGET = [  # cost code, cost type, original budget
    ("01-100", "labor", 120000.0),
    ("03-300", "material", 310000.0),
    ("03-300", "labor", 145000.0),
    ("05-100", "subcontract", 260000.0),
    ("26-100", "subcontract", 185000.0),
]
SOV = [  # item, description, cost code, scheduled value
    ("1", "General requirements", "01-100", 150000.0),
    ("2", "Cast-in-place concrete", "03-300", 540000.0),
    ("3", "Structural steel", "05-100", 310000.0),
    ("4", "Electrical", "26-100", 220000.0),
]
SUBCONTRACT = ("26-100", "Electrical rough-in and trim", 180000.0)
SYSTEMS = {
    "pm": {
        "name": "PM Platform (reference)",
        "kind": "project_management",
        "outbound": "change_order.status,billing.invoice_posted,billing.invoice_paid,"
        "subcontract_invoice.approved",
        "map_by_code": True,
    },
    "portal": {
        "name": "Supplier Portal (reference)",
        "kind": "supplier_portal",
        "outbound": "purchase_order.confirmed,purchase_order.changed,"
        "purchase_order.cancelled",
        "map_by_code": True,
    },
}


def provision_system(env, company, spec, url):
    Backend = env["construction.backend"].with_context(active_test=False)
    backend = Backend.search(
        [("name", "=", spec["name"]), ("company_id", "=", company.id)], limit=1
    )
    if not backend:
        backend = Backend.create(
            {"name": spec["name"], "kind": spec["kind"], "company_id": company.id}
        )
    if not backend.user_id:
        backend.action_create_integration_user()
    backend.write(
        {
            "active": True,
            "require_signature": True,
            "signing_secret": backend.signing_secret or secrets.token_hex(32),
            "outbound_url": url,
            "outbound_event_types": spec["outbound"],
            "map_by_code": spec["map_by_code"],
            "rate_limit": 0,
        }
    )
    return {
        "id": backend.id,
        "name": backend.name,
        "key": backend._generate_api_key(name="setup/demo"),
        "secret": backend.signing_secret,
    }


def provision_project(env, company, pm_backend):
    Project = env["project.project"].with_context(active_test=False)
    run = Project.search_count([("name", "=like", PROJECT + "%")]) + 1
    name = PROJECT if run == 1 else f"{PROJECT} #{run}"
    ref = "LAKESIDE-LIB" if run == 1 else f"LAKESIDE-LIB-{run}"
    owner = env["res.partner"].search(
        [("name", "=", "Lakeside County Library District")], limit=1
    ) or env["res.partner"].create(
        {"name": "Lakeside County Library District", "is_company": True}
    )
    project = Project.create(
        {
            "name": name,
            "company_id": company.id,
            "partner_id": owner.id,
            "user_id": env.ref("base.user_admin").id,
        }
    )
    wanted = {row[0] for row in BUDGET} | {row[2] for row in SOV}
    codes = {
        account.code: account
        for account in env["account.analytic.account"].search(
            [
                ("construction_role", "=", "cost_code"),
                ("company_id", "in", [company.id, False]),
                ("code", "in", sorted(wanted)),
            ]
        )
    }
    missing = wanted - set(codes)
    if missing:
        sys.exit(
            f"error: cost codes {', '.join(sorted(missing))} are missing: setup/demo"
            " needs a database with the suite's demo data (setup/install)."
        )
    types = {
        kind: env.ref(f"construction_connector_base.cost_type_{kind}")
        for kind in {row[1] for row in BUDGET}
    }
    budget = env["construction.budget"].search([("project_id", "=", project.id)])
    budget_lines = [
        Command.create(
            {
                "cost_code_id": codes[code].id,
                "cost_type_id": types[kind].id,
                "original_amount": amount,
            }
        )
        for code, kind, amount in BUDGET
    ]
    if budget:
        budget.write({"line_ids": budget_lines})
    else:
        budget = env["construction.budget"].create(
            {"project_id": project.id, "line_ids": budget_lines}
        )
    contract = env["construction.contract"].create(
        {
            "project_id": project.id,
            "partner_id": owner.id,
            "company_id": company.id,
            "original_contract_sum": sum(row[3] for row in SOV),
            "retainage_rate_work": 10.0,
            "retainage_rate_stored": 5.0,
            "sov_line_ids": [
                Command.create(
                    {
                        "sequence": index,
                        "item_no": item,
                        "name": label,
                        "cost_code_id": codes[code].id,
                        "original_value": value,
                    }
                )
                for index, (item, label, code, value) in enumerate(SOV, 1)
            ],
        }
    )
    contract.action_activate()
    env["construction.mapping"].create(
        {
            "backend_id": pm_backend.id,
            "kind": "project",
            "external_code": ref,
            "target_ref": f"project.project,{project.id}",
            "note": "Created by setup/demo",
        }
    )
    subcontract = provision_subcontract(env, project, codes)
    return {
        "id": project.id,
        "name": name,
        "ref": ref,
        "run": run,
        "budget_id": budget.id,
        "contract_id": contract.id,
        "subcontract": subcontract,
    }


def provision_subcontract(env, project, codes):
    """The electrical subcontract (10% retainage) the subcontractor requisitions
    against from the PM platform, confirmed."""
    vendor = env.ref("construction_connector_base.partner_vendor_electrical_demo")
    product = env.ref(
        "construction_procurement_sync.product_electrical_subcontract_demo"
    )
    cost_type = env.ref("construction_connector_base.cost_type_subcontract")
    accounts = f"{project.account_id.id},{codes[SUBCONTRACT[0]].id},{cost_type.id}"
    order = env["purchase.order"].create(
        {
            "partner_id": vendor.id,
            "project_id": project.id,
            "company_id": project.company_id.id,
            "construction_is_subcontract": True,
            "construction_retainage_percent": 10.0,
            "order_line": [
                Command.create(
                    {
                        "product_id": product.id,
                        "name": SUBCONTRACT[1],
                        "product_qty": 1.0,
                        "price_unit": SUBCONTRACT[2],
                        "analytic_distribution": {accounts: 100},
                    }
                )
            ],
        }
    )
    order.button_confirm()
    return {
        "id": order.id,
        "name": order.name,
        "vendor": vendor.name,
        "line_id": order.order_line.id,
    }


def main():
    db, addons_path, pm_url, portal_url = sys.argv[1:5]
    odoo.tools.config.parse_config(
        ["-d", db, f"--addons-path={addons_path}", "--log-level=warn"]
    )
    with Registry(db).cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        company = env.ref("base.main_company")
        pm = provision_system(env, company, SYSTEMS["pm"], pm_url)
        portal = provision_system(env, company, SYSTEMS["portal"], portal_url)
        project = provision_project(
            env, company, env["construction.backend"].browse(pm["id"])
        )
        cr.commit()
    print(json.dumps({"pm": pm, "portal": portal, "project": project}))


if __name__ == "__main__":
    main()
