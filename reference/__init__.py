"""Reference external systems for the construction suite's integration API.

Standalone programs (requests and the standard library's HTTP server; no Odoo
import) that talk to Odoo exactly as a real integration would:

- :mod:`reference.client`: the API client (API key, HMAC signatures, idempotency
  keys, retries with backoff on 5xx/429/network errors, batches, replay);
- :mod:`reference.receiver`: a webhook receiver that verifies our outbound
  signatures and deduplicates on ``Idempotency-Key``;
- :mod:`reference.pm_platform`: a project-management platform (cost codes, change
  orders, progress, material requests, subcontractor requisitions);
- :mod:`reference.supplier_portal`: a supplier portal that acknowledges, delivers
  and invoices the purchase orders it receives;
- :mod:`reference.scenario`: the scripted month played by ``setup/demo``.
"""
