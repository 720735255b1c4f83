"""Every sample event in events/ is run by a test (each capability's folder runs its own events)."""

from sso_local.template import REPO_ROOT

EVENTS = REPO_ROOT / "events"


def test_every_event_file_is_used_by_a_test():
    """A sample event nobody runs rots; each file name must appear in some test module."""
    test_sources = "\n".join(p.read_text() for p in (REPO_ROOT / "tests").rglob("test_*.py"))
    unused = [p.stem for p in EVENTS.glob("*.json") if p.stem not in test_sources]
    assert unused == []
