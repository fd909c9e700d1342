// TensorBoard's side of the iframe: the small postMessage protocol its
// webapp answers for iframe plugins (not published as a package; these are
// the messages TensorBoard 2.21 sends, see
// tensorboard/components/experimental/plugin_util/plugin-host-ipc.ts and
// core-host-impl.ts, and plugin_lib/plugin-guest.ts and message.ts):
//
// - the guest posts the string "experimental.bootstrap" to window.parent
//   with a MessagePort; everything else goes over that port, as JSON
//   strings {type, id, payload, error, isReply};
// - "experimental.DataReloaded" is broadcast each time TensorBoard has
//   reloaded (its reload button, and its auto-reload when enabled in its
//   settings); "experimental.RunsChanged" when its run list changed;
// - every message that is not a reply expects one ({..., isReply: true}).

export const DATA_RELOADED = "experimental.DataReloaded";
export const RUNS_CHANGED = "experimental.RunsChanged";
const BOOTSTRAP = "experimental.bootstrap";

/**
 * Handles one message from the host: calls `listeners[type]` (if any) for a
 * message that is not a reply, and returns the reply to post (or null for a
 * reply or a malformed message). Listener errors are reported in the reply.
 */
export function answer(data, listeners) {
  let message;
  try {
    message = typeof data === "string" ? JSON.parse(data) : null;
  } catch (e) {
    return null;
  }
  if (!message || typeof message !== "object" || message.isReply) return null;
  let error = null;
  const listener = Object.prototype.hasOwnProperty.call(listeners, message.type)
    ? listeners[message.type] : null;
  if (listener) {
    try {
      listener(message.payload);
    } catch (e) {
      error = String((e && e.message) || e);
    }
  }
  return { type: message.type, id: message.id, payload: null, error, isReply: true };
}

/**
 * Opens the channel to TensorBoard and calls `listeners[type](payload)` for
 * the messages it sends. Returns the port (null outside an iframe, where
 * there is no host to talk to).
 * @param {Object<string, function(*): void>} listeners
 * @param {{parent?: Window, self?: Window, MessageChannel?: Function}} [env]
 */
export function connectHost(listeners, env = {}) {
  const self = env.self || window;
  const parent = env.parent || self.parent;
  const Channel = env.MessageChannel || self.MessageChannel;
  if (!parent || parent === self || !Channel) return null;
  const channel = new Channel();
  const port = channel.port1;
  port.addEventListener("message", (event) => {
    const reply = answer(event.data, listeners);
    if (reply) port.postMessage(JSON.stringify(reply));
  });
  port.start();
  // The host is TensorBoard's page, same origin as this document.
  const origin = (self.location && self.location.origin) || "*";
  try {
    parent.postMessage(BOOTSTRAP, origin === "null" ? "*" : origin, [channel.port2]);
  } catch (e) {
    port.close();
    return null;
  }
  return port;
}
