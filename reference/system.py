"""What every reference system has: an API client (outbound) and a webhook
receiver (inbound) sharing the system's signing secret."""

import time

from .client import ConstructionClient
from .receiver import WebhookReceiver


class ExternalSystem:
    name = "system"
    key_prefix = "ref"

    def __init__(self, api_url, api_key, secret=None, port=0, host="127.0.0.1"):
        self.client = ConstructionClient(
            api_url, api_key, secret, key_prefix=self.key_prefix
        )
        self.receiver = WebhookReceiver(secret, host=host, port=port, name=self.name)
        self.versions = {}  # external id -> last version sent

    def start(self):
        self.receiver.start()
        return self

    def stop(self):
        self.receiver.stop()

    @property
    def webhook_url(self):
        return self.receiver.url

    def next_version(self, external_id):
        """Entity versions as the platform's "updated at" in seconds: they keep
        increasing across restarts of the reference system (a restarted counter
        would send versions Odoo already applied, which it marks superseded)."""
        version = max(self.versions.get(external_id, 0) + 1, int(time.time()))
        self.versions[external_id] = version
        return version
