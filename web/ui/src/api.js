// Same-origin client of tokenpath's /api/v1. Errors keep Prometheus' own
// errorType and error so the page can show them as Prometheus returned them.

export class APIError extends Error {
  constructor(errorType, error) {
    super(errorType + ': ' + error);
    this.errorType = errorType;
    this.error = error;
  }
}

async function get(path, params) {
  const q = new URLSearchParams(params);
  let resp;
  try {
    resp = await fetch(path + '?' + q.toString(), { headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new APIError('network', String(e && e.message || e));
  }
  let body;
  try {
    body = await resp.json();
  } catch (e) {
    throw new APIError('bad_response', 'HTTP ' + resp.status + ' without a JSON body');
  }
  if (body.status !== 'success') {
    throw new APIError(body.errorType || 'error', body.error || ('HTTP ' + resp.status));
  }
  return body.data;
}

export function queryRange(expr, start, end, step) {
  return get('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) });
}

export function query(expr, time) {
  const p = { query: expr };
  if (time != null) p.time = String(time);
  return get('/api/v1/query', p);
}
