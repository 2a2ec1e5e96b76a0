"""Events made by the real sentry-sdk, kept by a transport instead of sent, for posting
to the ingestion endpoint through the test client."""

import sentry_sdk
from sentry_sdk.transport import Transport


class KeepEnvelopes(Transport):
    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope.serialize())


def capture(report, **options) -> list[bytes]:
    """The envelopes the real SDK sends while `report()` runs."""
    transport = KeepEnvelopes()
    client = sentry_sdk.Client(
        dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1/1",
        transport=transport,
        default_integrations=False,
        **options,
    )
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        report(scope)
    client.close()
    return transport.envelopes
