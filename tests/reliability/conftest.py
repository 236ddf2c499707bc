from tests.support import client, clock, clocked, extra_settings, services, spans

__all__ = ["client", "clock", "clocked", "extra_settings", "services", "spans"]
