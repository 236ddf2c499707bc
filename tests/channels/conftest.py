from tests.support import client, services

__all__ = ["client", "services"]
