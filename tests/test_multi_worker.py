"""A two-worker MultiWorkerMirroredStrategy run on localhost: only the chief
writes, its numbers equal a single-process run's, and training is bitwise
the same with and without the callback.

Keras 3.15's own fit() fails under this strategy with or without any
callback ("Attempt to convert a value (PerReplica ...)", keras-team/keras
issue 20585), so the workers train with a custom loop (strategy.run) and
drive RNNTensorBoard's hooks as fit() would. The chief's logging must not
issue a collective the other worker does not: reading a metric (a
sync-on-read variable) as a whole all-reduces across workers, which made
the other worker's next step fail.
"""

import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
from tb_reading import read_back

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]

WORKER = r'''
import json, os, sys
index, ports, out, log_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ports = ports.split(",") if ports != "-" else []
if ports:
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": ["127.0.0.1:%s" % p for p in ports]},
        "task": {"type": "worker", "index": index},
    })
import numpy as np, tensorflow as tf, keras
from tb_rnn_plugin import RNNTensorBoard

strategy = tf.distribute.MultiWorkerMirroredStrategy() if ports else tf.distribute.get_strategy()
workers = max(1, len(ports))
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(16, 6, 3)).astype("float32")
y = rng.normal(size=(16, 1)).astype("float32")
with strategy.scope():
    model = keras.Sequential([
        keras.Input((6, 3)), keras.layers.LSTM(4, name="lstm"), keras.layers.Dense(1),
    ])
    optimizer = keras.optimizers.SGD(0.1)
    model.compile(optimizer=optimizer, loss="mse")
GLOBAL_BATCH = 8

def step(xb, yb):
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(model(xb, training=True) - yb)) / GLOBAL_BATCH
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply(grads, model.trainable_variables)

@tf.function
def train_step(xb, yb):
    strategy.run(step, args=(xb, yb))

callback = None
if log_dir != "-":
    callback = RNNTensorBoard(
        log_dir, update_freq=1, full_every=1, precision="float32", probe_data=(x[:4], y[:4])
    )
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_begin(0)
share = GLOBAL_BATCH // workers
for batch in range(2):
    start = batch * GLOBAL_BATCH + index * share
    train_step(tf.constant(x[start:start + share]), tf.constant(y[start:start + share]))
    if callback:
        callback.on_train_batch_end(batch)
if callback:
    callback.on_train_end()
np.savez(out, *[v.numpy() for v in model.weights])
'''


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_workers(tmp_path, name, log_dirs):
    """Runs one process per entry of log_dirs ("-": no callback); returns
    each process's final weights."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]))
    ports = ",".join(map(str, free_ports(len(log_dirs)))) if len(log_dirs) > 1 else "-"
    outs = [tmp_path / ("%s_%d.npz" % (name, i)) for i in range(len(log_dirs))]
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), ports, str(out), str(log_dir)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i, (out, log_dir) in enumerate(zip(outs, log_dirs))
    ]
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]
    return [dict(np.load(out)) for out in outs]


def test_two_workers_only_the_chief_writes_the_single_process_numbers(tmp_path):
    chief_dir, other_dir, single_dir = tmp_path / "chief", tmp_path / "worker1", tmp_path / "single"
    with_callback = run_workers(tmp_path, "logged", [chief_dir, other_dir])
    without = run_workers(tmp_path, "plain", ["-", "-"])
    for logged, plain in zip(with_callback, without):
        assert logged.keys() == plain.keys()
        for key in logged:
            np.testing.assert_array_equal(logged[key], plain[key])
    assert not other_dir.exists()
    run_workers(tmp_path, "single", [single_dir])
    chief = read_back(chief_dir)["."]["lstm/state_gradient"]
    single = read_back(single_dir)["."]["lstm/state_gradient"]
    assert chief[1] == single[1] == [1, 2]
    for got, want in zip(chief[2], single[2]):
        assert np.abs(want).max() > 0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7 * np.abs(want).max())
