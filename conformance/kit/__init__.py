"""2BA client conformance kit: drives an OAuth client through an adapter against the mock
2BA authorization server and judges each check from the mock's request journal."""

VERSION = "1.0.0"
ADAPTER_PROTOCOL_VERSION = 1
