"""The benchmark's settings: the project's own, plus a trivial view (the floor) and a static root of its own.

Everything else (database, DEBUG, secrets, hosts) comes from the environment
that `bench/run.py` sets, exactly as in production.
"""

from mmboard.settings import *  # noqa: F403
from mmboard.settings import BASE_DIR

ROOT_URLCONF = "bench.urls"
# collectstatic writes here, so the benchmark never touches the project's staticfiles/.
STATIC_ROOT = BASE_DIR / "bench" / ".data" / "static"
