from tests.support import client, extra_settings, services

__all__ = ["client", "extra_settings", "services"]
