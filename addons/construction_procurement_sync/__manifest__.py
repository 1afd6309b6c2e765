{
    "name": "Construction Procurement Sync",
    "summary": "Material requests, purchase orders and subcontracts against cost"
    " codes and budgets, exchanged with supplier portals",
    "version": "18.0.1.0.0",
    "category": "Construction",
    "license": "LGPL-3",
    "author": "Construction Suite Team",
    "website": "https://github.com/construction-suite/odoo-construction",
    "depends": ["purchase", "stock", "construction_change_order"],
    "data": [
        "security/ir.model.access.csv",
    ],
    "development_status": "Alpha",
    "installable": True,
}
