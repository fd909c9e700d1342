// The guest side of TensorBoard's iframe-plugin postMessage protocol,
// against a fake parent window that answers like TensorBoard 2.21's host
// (tensorboard/components/experimental/plugin_util/plugin-host-ipc.ts).
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { answer, connectHost, DATA_RELOADED, RUNS_CHANGED } from "../../frontend/shell/host.js";

/** A parent window that keeps the port the guest bootstraps with. */
function fakeHost() {
  const host = { ports: [], origins: [], replies: [] };
  host.window = {
    postMessage(data, origin, transfer) {
      assert.equal(data, "experimental.bootstrap");
      host.origins.push(origin);
      const port = transfer[0];
      port.addEventListener("message", (event) => host.replies.push(JSON.parse(event.data)));
      port.start();
      host.ports.push(port);
    },
  };
  host.send = (type, id, payload) =>
    host.ports[0].postMessage(JSON.stringify({ type, id, payload, error: null, isReply: false }));
  return host;
}

/** Waits until `done()` holds (messages cross ports asynchronously), up to 5 s. */
async function until(done) {
  for (let waited = 0; !done() && waited < 5000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("bootstraps over a MessagePort and follows DataReloaded and RunsChanged", async () => {
  const host = fakeHost();
  const self = { location: { origin: "http://127.0.0.1:6006" } };
  const calls = [];
  const port = connectHost({
    [DATA_RELOADED]: (payload) => calls.push(["reloaded", payload]),
    [RUNS_CHANGED]: (payload) => calls.push(["runs", payload]),
  }, { self, parent: host.window, MessageChannel });
  // Open ports keep Node running: close them whatever the assertions say.
  try {
    assert.ok(port);
    assert.deepEqual(host.origins, ["http://127.0.0.1:6006"]);

    host.send(DATA_RELOADED, 0, undefined);
    host.send(RUNS_CHANGED, 1, ["run_a", "run_b"]);
    host.send("experimental.SomethingNew", 2, null);
    await until(() => host.replies.length >= 3);
    assert.deepEqual(calls, [["reloaded", undefined], ["runs", ["run_a", "run_b"]]]);
    // Every message is answered, so the host's promises settle.
    assert.deepEqual(host.replies.map((r) => [r.type, r.id, r.isReply, r.error]), [
      [DATA_RELOADED, 0, true, null],
      [RUNS_CHANGED, 1, true, null],
      ["experimental.SomethingNew", 2, true, null],
    ]);
  } finally {
    if (port) port.close();
    host.ports.forEach((p) => p.close());
  }
});

test("outside an iframe there is no host to connect to", () => {
  const self = { location: { origin: "http://x" } };
  self.parent = self;
  assert.equal(connectHost({}, { self, MessageChannel }), null);
});

test("replies, malformed messages and failing listeners", () => {
  assert.equal(answer("not json", {}), null);
  assert.equal(answer(JSON.stringify({ type: "x", id: 1, isReply: true }), {}), null);
  assert.equal(answer({ type: "x" }, {}), null);
  const reply = answer(JSON.stringify({ type: "boom", id: 4, payload: null, isReply: false }), {
    boom: () => {
      throw new Error("listener failed");
    },
  });
  assert.deepEqual(reply, { type: "boom", id: 4, payload: null, error: "listener failed", isReply: true });
  // Names from Object.prototype are not listeners.
  assert.equal(answer(JSON.stringify({ type: "toString", id: 5, isReply: false }), {}).error, null);
});
