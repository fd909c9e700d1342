import os

import pytest

# TensorFlow's C++ start-up chatter hides test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="module")
def browser(server):
    """Headless Chromium for a browser test module, over its own `server`
    fixture (a TensorBoard process; browser_util.served)."""
    import browser_util

    with browser_util.chromium() as chromium:
        yield chromium
