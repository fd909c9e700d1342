// Results of requests as values: many loads run side by side, and one
// failed series must not stop the others from drawing.

/** {value} when the promise resolves, {error} when it rejects. */
export function settle(promise) {
  return promise.then((value) => ({ value }), (error) => ({ error }));
}

/** An error as one line for the user: an HTTP error names its URL. */
export function errorText(error) {
  if (error && error.name === "HttpError") return `${error.message} (${error.url})`;
  return String((error && error.message) || error);
}
