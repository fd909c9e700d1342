// Caching in the frontend's Api: step lists are forgotten on reload, tensors
// are kept while a fresh step list still lists their step (same wall time).
// Run: node --test tests/js/

import assert from "node:assert/strict";
import { test } from "node:test";

import { Api } from "../../frontend/data/api.js";

/** A fetch over an in-memory series {run: {tag: [[step, wallTime], ...]}}. */
function fakeServer(series) {
  const requests = [];
  const fetchFn = async (url) => {
    requests.push(url);
    const u = new URL(url, "http://host/data/plugin/rnn/");
    const points = series[u.searchParams.get("run")][u.searchParams.get("tag")];
    if (u.pathname.endsWith("/steps")) {
      const body = { steps: points.map((p) => p[0]), wall_times: points.map((p) => p[1]) };
      if (series.logged !== undefined) body.logged_steps = series.logged;
      return new Response(JSON.stringify(body));
    }
    const step = Number(u.searchParams.get("step"));
    const point = points.find((p) => p[0] === step);
    return new Response(new Float32Array([step, 1]).buffer, {
      headers: { "X-Tensor-Shape": "1,1,2", "X-Tensor-Dtype": "float32", "X-Tensor-Wall-Time": String(point[1]) },
    });
  };
  return { fetchFn, requests };
}

const tensorRequests = (requests) => requests.filter((u) => u.startsWith("./tensor"));

test("a reload forgets step lists and keeps tensors of steps still listed", async () => {
  const series = { run_a: { t: [[0, 100.5], [10, 110.25]] } };
  const server = fakeServer(series);
  const api = new Api(server.fetchFn);
  assert.deepEqual((await api.steps("run_a", "t")).steps, [0, 10]);
  await api.tensor("run_a", "t", 0);
  await api.tensor("run_a", "t", 10);
  assert.equal(tensorRequests(server.requests).length, 2);

  // New data: step 20 logged, step 0 dropped from TensorBoard's sample.
  series.run_a.t = [[10, 110.25], [20, 120]];
  assert.deepEqual((await api.steps("run_a", "t")).steps, [0, 10], "cached until forgotten");
  api.forgetSteps();
  assert.deepEqual((await api.steps("run_a", "t")).steps, [10, 20]);
  assert.equal(api.cachedTensorCount, 1);
  await api.tensor("run_a", "t", 10);
  assert.equal(tensorRequests(server.requests).length, 2, "step 10 came from the cache");
  await api.tensor("run_a", "t", 20);
  assert.equal(tensorRequests(server.requests).length, 3);
});

test("a step logged again (another wall time) is fetched again", async () => {
  const series = { run_a: { t: [[0, 100], [10, 110]] } };
  const server = fakeServer(series);
  const api = new Api(server.fetchFn);
  await api.steps("run_a", "t");
  await api.tensor("run_a", "t", 10);
  series.run_a.t = [[0, 500], [10, 510]]; // the run was written anew
  api.forgetSteps();
  await api.steps("run_a", "t");
  await api.tensor("run_a", "t", 10);
  assert.equal(tensorRequests(server.requests).length, 2);
});

test("tensors of series no longer in the index are forgotten", async () => {
  const server = fakeServer({ run_a: { t: [[0, 1]] }, run_b: { t: [[0, 1]] } });
  const api = new Api(server.fetchFn);
  await api.tensor("run_a", "t", 0);
  await api.tensor("run_b", "t", 0);
  api.keepSeries((run) => run === "run_a");
  assert.equal(api.cachedTensorCount, 1);
  await api.tensor("run_a", "t", 0);
  assert.equal(tensorRequests(server.requests).length, 2);
});

test("logged_steps: a count when the server says, else null", async () => {
  const series = { run_a: { t: [[0, 1], [10, 2]] }, logged: 40 };
  let api = new Api(fakeServer(series).fetchFn);
  assert.equal((await api.steps("run_a", "t")).logged_steps, 40);
  for (const logged of [undefined, null, "40", -1, 2.5]) {
    series.logged = logged;
    api = new Api(fakeServer(series).fetchFn);
    assert.equal((await api.steps("run_a", "t")).logged_steps, null, String(logged));
  }
});
