// The flow view's rows summarise the batch by the median unless the user
// picks the mean or one sample: one sample that grows while seven fade
// must not make the row grow.
import test from "node:test";
import assert from "node:assert/strict";

import { flowBatch } from "../../frontend/views/flow.js";
import { batchQuantiles, profileRow } from "../../frontend/data/profiles.js";

test("the flow's batch choice: median by default, mean or a sample when chosen", () => {
  assert.equal(flowBatch("both", 3), "median");
  assert.equal(flowBatch("median", 3), "median");
  assert.equal(flowBatch(undefined, 3), "median");
  assert.equal(flowBatch("mean", 3), "mean");
  assert.equal(flowBatch("sample", 3), 3);
});

test("seven fading samples and one growing: the median row fades, the mean row does not", () => {
  const S = 8, T = 3;
  const data = new Float32Array(S * T);
  for (let s = 0; s < S; s++) {
    const rate = s === 7 ? 11 : 0.01;  // ||v_0|| / ||v_T-1||
    data.set([rate, Math.sqrt(rate), 1], s * T);
  }
  const p = { steps: [5], samples: S, timesteps: T, data };
  const median = batchQuantiles(p, 0).median;
  const mean = profileRow(p, 0, "mean");
  assert.ok(median[0] < median[2], "the median fades towards t = 0");
  assert.ok(Math.abs(median[0] - 0.01) < 1e-6);
  assert.ok(mean[0] > mean[2], "the mean is made by the one growing sample");
});
