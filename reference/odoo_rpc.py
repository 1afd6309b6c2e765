"""What a person does in Odoo's web client, done over Odoo's external JSON-RPC API
(``/jsonrpc``, service ``object``, ``execute_kw``) with a login and password:
approve, certify, confirm and post, as the buttons do."""

import itertools

import requests


class OdooError(Exception):
    pass


class OdooRpc:
    def __init__(self, url, db, login="admin", password="admin", timeout=120):
        self.url = url.rstrip("/")
        self.db = db
        self.password = password
        self.timeout = timeout
        self.session = requests.Session()
        self._ids = itertools.count(1)
        self.uid = self._call("common", "login", db, login, password)
        if not self.uid:
            raise OdooError(f"login {login!r} refused on database {db}")

    def _call(self, service, method, *args):
        answer = self.session.post(
            f"{self.url}/jsonrpc",
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": next(self._ids),
                "params": {"service": service, "method": method, "args": args},
            },
            timeout=self.timeout,
        ).json()
        if answer.get("error"):
            data = answer["error"].get("data") or {}
            raise OdooError(data.get("message") or answer["error"].get("message"))
        return answer.get("result")  # Odoo leaves "result" out when it is None

    def call(self, model, method, *args, **kwargs):
        return self._call(
            "object",
            "execute_kw",
            self.db,
            self.uid,
            self.password,
            model,
            method,
            list(args),
            kwargs,
        )

    def search_read(self, model, domain, fields, **kwargs):
        return self.call(model, "search_read", domain, fields=fields, **kwargs)

    def read_one(self, model, record_id, fields):
        return self.call(model, "read", [record_id], fields)[0]
