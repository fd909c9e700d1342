"""The gradient horizon's method "reverse": an explicit reverse-mode
recurrence over one direction of a layer (see horizon.py for the method).

record() runs the direction's forward pass as keras.layers.RNN does and
saves what the reverse loop needs; reverse_direction() runs back over the
steps in processing order, carrying one cotangent per active target.
"""

import keras
import numpy as np
import tensorflow as tf

from tb_rnn_plugin.summary_ops.cell_reverse import reverse_cell


def record(d, flat_u, mask, timesteps, hand_written):
    """One direction's forward pass over its cell, as keras.layers.RNN
    runs it (masked steps keep the states; their output is 0 or the
    previous one): every step's input states [T, B, ...] and the output
    sequence [B, T, C_all], both in processing order."""
    cell = d.cell
    dtype = cell.compute_dtype
    backward = d.layer.go_backwards
    batch = tf.shape(flat_u)[0]
    xs = tf.cast(tf.reverse(flat_u, [1]) if backward else flat_u, dtype)
    ms = None if mask is None else (tf.reverse(mask, [1]) if backward else mask)
    initial = d.perturbed.get_initial_state(batch_size=batch)
    initial = keras.tree.map_structure(lambda s: tf.cast(s, dtype), initial)
    initial = list(initial) if keras.tree.is_nested(initial) else [initial]
    flat_initial = keras.tree.flatten(initial)

    leaves = d.leaves

    def call_cell(flat_states, step_x, eps, step_mask):
        # As the perturbed cell's call, without packing x and eps into one
        # input (whose gradient would also take x's: dz K^T and slices).
        states = keras.tree.pack_sequence_as(initial, flat_states)
        x = tf.reshape(step_x, (-1,) + cell.step_input_shape)
        eps_parts = [
            tf.reshape(eps if len(leaves) == 1 else eps[:, d.offsets[k]:d.offsets[k + 1]],
                       (-1,) + leaf.shape)
            for k, leaf in enumerate(leaves)
        ]
        hs = []
        _, new_states = cell._run(cell.cell, x, tuple(states), iter(eps_parts), False, hs, None)
        hs = [tf.reshape(h, (-1, leaf.size)) for h, leaf in zip(hs, leaves)]
        out = hs[0] if len(hs) == 1 else tf.concat(hs, axis=-1)
        flat_new = keras.tree.flatten(new_states)
        if step_mask is not None:
            flat_new = [
                tf.where(tf.reshape(step_mask, [-1] + [1] * (len(n.shape) - 1)), n, o)
                for n, o in zip(flat_new, flat_states)
            ]
        return out, flat_new

    known = reverse_cell(leaves[0].cell, dtype) if len(leaves) == 1 and hand_written else None
    if known is not None:
        xk = known.project(xs)

        def step(p, flat_states):
            return known.step(xk[:, p], flat_states)
    else:
        def step(p, flat_states):
            eps = tf.zeros(tf.stack([batch, d.size]), dtype)
            out, flat_new = call_cell(flat_states, xs[:, p], eps, None)
            return out, flat_new, []

    state_tas = [tf.TensorArray(dtype, size=timesteps, element_shape=s.shape) for s in flat_initial]
    saved_tas = [tf.TensorArray(dtype, size=timesteps) for _ in range(0 if known is None else known.n_saved)]
    out_ta = tf.TensorArray(dtype, size=timesteps)
    zero_output = d.layer.zero_output_for_mask

    def forward(p, flat_states, prev_out, tas, saved_tas, out_ta):
        tas = [ta.write(p, s) for ta, s in zip(tas, flat_states)]
        out, flat_new, saved = step(p, flat_states)
        saved_tas = [ta.write(p, v) for ta, v in zip(saved_tas, saved)]
        if ms is not None:
            step_mask = ms[:, p]
            flat_new = [
                tf.where(tf.reshape(step_mask, [-1] + [1] * (len(n.shape) - 1)), n, o)
                for n, o in zip(flat_new, flat_states)
            ]
            out = tf.where(step_mask[:, None], out, tf.zeros_like(out) if zero_output else prev_out)
        return p + 1, flat_new, out, tas, saved_tas, out_ta.write(p, out)

    prev_out = tf.zeros(tf.stack([batch, d.size]), dtype)
    _, _, _, state_tas, saved_tas, out_ta = tf.while_loop(
        lambda p, *_: p < timesteps, forward,
        (tf.constant(0), flat_initial, prev_out, state_tas, saved_tas, out_ta),
        parallel_iterations=1,
    )
    return {
        "primal": [ta.stack() for ta in state_tas],
        "saved": [ta.stack() for ta in saved_tas],
        "known": known,
        "sequence": tf.transpose(out_ta.stack(), [1, 0, 2]),
        "xs": xs, "ms": ms, "call_cell": call_cell, "dtype": dtype, "batch": batch,
        "flat_initial": flat_initial,
    }

def reverse_direction(d, rec, direct, targets, timesteps, max_lag, return_vectors,
                      source="state"):
    """(norms [B, K, T, leaves], vectors [B, K, T, C] or None) of one
    direction, by a reverse loop over its steps in processing order with
    one cotangent per active target (all samples), no weight gradients.

    direct: dL/dy in processing order [B, T, ...] (the direct cotangent
    of the target at its own step, the layers after this one being
    time-local).
    source: "state", the rows are dL_t/dh_j (eps_j); "input", they are
    dL_t/dx_j, the step's input (the input dependency): vectors
    [B, K, T, input size] are returned whatever return_vectors says, and
    norms [B, K, T, 1]; it needs the generic step (record() with
    hand_written=False)."""
    by_input = source == "input"
    if by_input and rec["known"] is not None:
        raise ValueError("source='input' takes the generic reverse step")
    return_vectors = return_vectors or by_input
    primal, xs, ms, call_cell = rec["primal"], rec["xs"], rec["ms"], rec["call_cell"]
    known, saved = rec["known"], rec["saved"]
    dtype, batch, flat_initial = rec["dtype"], rec["batch"], rec["flat_initial"]
    backward = d.layer.go_backwards
    direct = tf.reshape(tf.cast(direct, dtype), tf.stack([batch, timesteps, -1]))
    pad_before = d.offsets[-2]  # the earlier leaves of a stack
    direct = tf.pad(direct, [[0, 0], [0, 0], [pad_before, 0]])  # [B, T, C_all]
    if ms is not None:  # the loss weighs padded steps 0
        direct = tf.where(ms[..., None], direct, tf.zeros_like(direct))
    proc = sorted(set((timesteps - 1 - t) if backward else t for t in targets))
    n_rows = len(proc)
    lag = timesteps if max_lag is None else max_lag
    lo = [int(np.searchsorted(proc, p, side="left")) for p in range(timesteps + 1)]
    hi = [int(np.searchsorted(proc, min(p + lag, timesteps), side="right")) for p in range(timesteps)]
    hi.append(n_rows)
    lo_c, hi_c = tf.constant(lo, tf.int32), tf.constant(hi, tf.int32)

    # Reverse: cotangents [A, B, ...] of the states after step p for the
    # active targets proc[lo[p]:hi[p]], ascending.
    leaf_offsets = d.offsets
    norms_ta = tf.TensorArray(dtype, size=timesteps)
    vectors_ta = tf.TensorArray(dtype, size=timesteps) if return_vectors else None

    def generic_vjp(p, ct_out, cts, rows):
        # One forward step on the B samples; its VJP vectorised
        # (pfor) over the A cotangents.
        flat_states = [s[p] for s in primal]
        eps = tf.zeros(tf.stack([batch, d.size]), dtype)
        step_x = xs[:, p]
        row_source = step_x if by_input else eps
        with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
            tape.watch(flat_states)
            tape.watch(row_source)
            out, flat_new = call_cell(
                flat_states, step_x, eps, None if ms is None else ms[:, p]
            )
            if ms is not None:
                # A padded step's output (0 or the previous one) gets
                # no cotangent: the loss weighs it 0.
                out = tf.where(ms[:, p][:, None], out, tf.zeros_like(out))

        def vjp(cotangents):
            return tape.gradient(
                [out] + flat_new, flat_states + [row_source],
                output_gradients=list(cotangents), unconnected_gradients="zero",
            )

        def none_active():
            return [tf.zeros(tf.concat([[0], tf.shape(v)], 0), dtype)
                    for v in flat_states + [row_source]]

        # pfor cannot run over 0 cotangents (steps after the last
        # target, or gaps between targets wider than max_lag).
        grads = tf.cond(
            rows > 0, lambda: tf.vectorized_map(vjp, [ct_out] + list(cts)), none_active
        )
        # Of the states before step p, and dL_t/dh_p [A, B, C_all] for
        # every leaf cell (or dL_t/dx_p [A, B, input size]).
        return list(grads[:-1]), grads[-1]

    def known_vjp(p, cts):
        # The cell's hand-written reverse step (cell_reverse): eps_t is
        # added to h_t, the output and state 0, so dL/deps_t = dL/dh_t
        # = state 0's cotangent (the output's joined it). A padded step
        # keeps the states (they pass straight back) and its eps_t has
        # no effect.
        dh = cts[0]
        step_mask = None if ms is None else ms[:, p][None, :, None]
        if step_mask is not None:
            dh = tf.where(step_mask, dh, tf.zeros_like(dh))
        through = known.backward([v[p] for v in saved], dh, cts[1:])
        if step_mask is not None:
            through = [tf.where(step_mask, g, c) for g, c in zip(through, cts)]
        return through, dh

    def backward_step(p, cts, norms_ta, vectors_ta):
        lo_p, hi_p, lo_next = lo_c[p], hi_c[p], lo_c[p + 1]
        # Targets beyond max_lag leave (the last rows), target p joins
        # (first row, when p is a target) with no state cotangent and
        # its direct one.
        enter, keep = lo_next - lo_p, hi_p - lo_next
        joined = lambda c, first: tf.concat([tf.repeat(first[None], enter, 0), c[:keep]], 0)
        if known is None:
            cts = [joined(c, tf.zeros_like(s[p])) for c, s in zip(cts, primal)]
            ct_out = joined(tf.zeros(tf.stack([keep, batch, d.size]), dtype), direct[:, p])
            new_cts, g_eps = generic_vjp(p, ct_out, cts, hi_p - lo_p)
        else:
            # The output is state 0 (h_t): its direct cotangent joins
            # the state's.
            cts = [joined(cts[0], direct[:, p])] + [
                joined(c, tf.zeros_like(s[p])) for c, s in zip(cts[1:], primal[1:])
            ]
            new_cts, g_eps = known_vjp(p, cts)
        return finish(p, new_cts, g_eps, lo_p, hi_p, norms_ta, vectors_ta)

    def finish(p, new_cts, g_eps, lo_p, hi_p, norms_ta, vectors_ta):
        parts = [0, None] if by_input else leaf_offsets
        norms = tf.stack([
            tf.sqrt(tf.reduce_sum(tf.square(g_eps[..., parts[k]:parts[k + 1]]), -1))
            for k in range(len(parts) - 1)
        ], axis=-1)  # [A, B, leaves]
        place = [[lo_p, n_rows - hi_p], [0, 0], [0, 0]]
        norms_ta = norms_ta.write(p, tf.pad(norms, place))
        if vectors_ta is not None:
            vectors_ta = vectors_ta.write(p, tf.pad(g_eps, place))
        return p - 1, new_cts, norms_ta, vectors_ta

    cts0 = [tf.zeros(tf.concat([[0], tf.shape(s)], 0), dtype) for s in flat_initial]
    invariants = [tf.TensorShape([None, None]).concatenate(s.shape[1:]) for s in flat_initial]
    loop_vars = (tf.constant(timesteps - 1), cts0, norms_ta, vectors_ta)
    shape_invariants = (tf.TensorShape([]), invariants, None, None)
    if vectors_ta is None:
        loop_vars, shape_invariants = loop_vars[:3], shape_invariants[:3]
        body = lambda p, cts, n: backward_step(p, cts, n, None)[:3]
    else:
        body = backward_step
    result = tf.while_loop(
        lambda p, *_: p >= 0, body, loop_vars,
        shape_invariants=_invariants(loop_vars, shape_invariants),
        parallel_iterations=1,
    )
    # [T_proc, K_sorted, B, ...] -> [B, K (requested order), T (input time), ...]
    order = [proc.index((timesteps - 1 - t) if backward else t) for t in targets]

    def arrange(stacked):
        if backward:
            stacked = tf.reverse(stacked, [0])
        stacked = tf.gather(stacked, order, axis=1)
        return tf.transpose(stacked, [2, 1, 0, 3])

    norms = arrange(result[2].stack())
    vectors = arrange(result[3].stack()) if vectors_ta is not None else None
    return norms, vectors


def _invariants(loop_vars, shapes):
    """shape_invariants for tf.while_loop: the given shapes, or each var's own."""
    out = []
    for var, shape in zip(loop_vars, shapes):
        if shape is None:
            out.append(tf.nest.map_structure(
                lambda v: v.shape if isinstance(v, tf.Tensor) else tf.TensorShape(None), var
            ) if not isinstance(var, tf.TensorArray) else tf.TensorShape(None))
        else:
            out.append(shape)
    return tuple(out)
