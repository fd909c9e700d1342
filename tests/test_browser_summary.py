"""End to end: the summary strip over a real TensorBoard in Chromium, on
constructed logs whose verdicts are known (tests/verdict_cases.py): the
fading SimpleRNN vanishes, the GRU with two memory units has dominant
units and neither vanishes nor explodes, 7 of 8 samples vanishing make the
batch vanish, the NaN run names its first NaN step. Each sentence opens
the view it names.

Set RNN_SCREENSHOTS=<dir> to keep rnn_summary_1000.png and rnn_summary_1600.png.
"""

import os

import pytest

try:
    import browser_util
    import verdict_cases as vc
except ImportError:  # tests/ imported as a package
    from tests import browser_util
    from tests import verdict_cases as vc

RUNS = ("fading", "memory", "mixed", "nan_run")
READY = "#rnn-app[data-state=ready]"
STRIP_READY = "#rnn-summary[data-state=ready]"


def write_logdir(logdir):
    vc.write_keras_runs(logdir, ("fading", "memory"))
    vc.write_written_runs(logdir)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with browser_util.served(tmp_path_factory, "rnn_summary", write_logdir, RUNS) as tb:
        yield tb


def open_tab(browser, server, width, height=1000):
    context, page, frame = browser_util.open_plugin(browser, server.url, width, height)
    browser_util.forget_kept_state(page)
    page.reload()
    frame = browser_util.plugin_frame(page)
    frame.wait_for_selector(READY, timeout=60000)
    frame.wait_for_selector(STRIP_READY, timeout=60000)
    return context, page, frame


def show_runs(frame, runs):
    """Checks exactly `runs` in the run list."""
    for box in frame.locator("#rnn-runs input[data-run]").all():
        wanted = box.get_attribute("data-run") in runs
        if box.is_checked() != wanted:
            box.set_checked(wanted)
            frame.wait_for_selector(READY, timeout=60000)


def items(frame, run=None, topic=None):
    selector = "#rnn-summary li.rnn-summary-item"
    if run:
        selector += '[data-run="%s"]' % run
    if topic:
        selector += '[data-topic="%s"]' % topic
    return frame.locator(selector)


def expand(frame):
    more = frame.locator("#rnn-summary .rnn-summary-more")
    if more.is_visible() and more.text_content().startswith("show all"):
        more.click()


def test_the_strip_says_each_runs_verdict_and_opens_its_view(browser, server):
    context, page, frame = open_tab(browser, server, 1200)
    try:
        show_runs(frame, RUNS)
        # Collapsed: the first few sentences, problems first.
        collapsed = items(frame)
        assert 0 < collapsed.count() <= 3
        assert collapsed.first.get_attribute("data-severity") == "problem"
        assert collapsed.first.locator(".rnn-summary-badge").text_content() == "\u26a0 problem"
        head = frame.text_content("#rnn-summary summary")
        # fading and mixed vanish, nan_run's NaN, memory's update gates set to 0 or 1.
        assert head.startswith("Summary: 4 problems, ")
        expand(frame)

        fading = items(frame, "fading", "vanishing")
        assert fading.count() == 1 and fading.get_attribute("data-severity") == "problem"
        assert "vanishes before the first timestep in 8 of 8 samples" in fading.text_content()
        assert "try: a gated cell (LSTM/GRU), a shorter sequence or truncated BPTT" in fading.text_content()

        assert items(frame, "memory", "vanishing").count() == 0
        assert items(frame, "memory", "exploding").count() == 0
        dominant = items(frame, "memory", "dominant")
        assert dominant.get_attribute("data-severity") == "info"
        assert dominant.locator(".rnn-summary-badge").text_content() == "\u2139 note"
        assert "2 of 16 units carry most of the gradient" in dominant.text_content()

        mixed = items(frame, "mixed", "vanishing")
        assert "in 7 of 8 samples" in mixed.text_content()

        nan = items(frame, "nan_run", "nonfinite")
        assert "first NaN/Inf at step %d" % vc.NAN_FROM in nan.text_content()
        assert "timesteps 3-4, sample 1" in nan.text_content()
        # Severity is not said by colour only: every item has its word.
        for badge in frame.locator("#rnn-summary .rnn-summary-badge").all_text_contents():
            assert badge.split(" ", 1)[1] in ("problem", "note", "ok")

        # A click opens the named view: the NaN's state gradient heatmap at its step.
        nan.locator("button").click()
        frame.wait_for_selector(READY, timeout=60000)
        assert frame.input_value("#rnn-quantity") == "state_gradient"
        assert frame.input_value("#rnn-view") == "heatmap"
        assert frame.text_content("#rnn-step-value") == str(vc.NAN_FROM)

        # From another run only: the fading run is shown again, on its profile.
        show_runs(frame, ("mixed",))
        assert items(frame, "fading").count() == 0  # only the shown runs are listed
        assert items(frame, "mixed", "vanishing").count() == 1
        show_runs(frame, RUNS)
        expand(frame)
        items(frame, "fading", "vanishing").locator("button").click()
        frame.wait_for_selector(READY, timeout=60000)
        assert frame.input_value("#rnn-view") == "profile"
        assert frame.input_value("#rnn-quantity") == "state_gradient"
        assert frame.input_value("#rnn-layer") == "rnn"
        assert frame.is_checked('#rnn-runs input[data-run="fading"]')
        assert not page.console_errors.take()
    finally:
        context.close()


def test_the_collapsed_strip_leaves_the_views_on_screen(browser, server):
    shots = os.environ.get("RNN_SCREENSHOTS")
    for width in (1000, 1600):
        context, page, frame = open_tab(browser, server, width, 900)
        try:
            show_runs(frame, RUNS)
            overflow = frame.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (width, overflow)
            height = frame.evaluate("document.querySelector('#rnn-summary').getBoundingClientRect().height")
            if shots:
                page.screenshot(path=os.path.join(shots, "rnn_summary_%d.png" % width))
            # A head line and three sentences of at most two lines each.
            assert height < 170, (width, height)
            if shots:
                expand(frame)
                page.screenshot(path=os.path.join(shots, "rnn_summary_all_%d.png" % width), full_page=True)
            assert not page.console_errors.take()
        finally:
            context.close()
