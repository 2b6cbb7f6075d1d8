// Calls to the DP's HTTP API (docs/protocol.md §6) on this page's own origin. A refusal becomes a
// DpError carrying the problem+json `detail` sentence and `code`; an unreachable DP becomes a
// DpError with a sentence too, so nothing ends as a console-only failure.
export class DpError extends Error {
  constructor(detail, code, status) {
    super(detail);
    this.code = code;
    this.status = status;
  }
}

async function call(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new DpError('The Discovery Provider could not be reached. Check your connection, then try again.', 'unreachable', 0);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const detail = json && typeof json.detail === 'string' ? json.detail : `The Discovery Provider answered HTTP ${response.status}.`;
    throw new DpError(detail, json?.code ?? 'http-' + response.status, response.status);
  }
  if (json === null) throw new DpError('The Discovery Provider sent an answer this page cannot read.', 'unreadable', response.status);
  return json;
}

export const getMetadata = () => call('GET', '/.well-known/mimi-discovery');
export const startProof = (csi, publicKey) => call('POST', '/v1/proofs', { csi, publicKey });
export const answerProof = (proofId, code) => call('POST', `/v1/proofs/${encodeURIComponent(proofId)}/answer`, { code });
export const publish = (statement) => call('POST', '/v1/mappings', { statement });
export const remove = (statement) => call('POST', '/v1/removals', { statement });
export const getHead = () => call('GET', '/v1/transparency/head');
export const lookup = (csi, service, knownTreeSize) =>
  call('POST', '/v1/lookup', { csis: [csi], ...(service ? { service } : {}), ...(knownTreeSize ? { knownTreeSize } : {}) });
export const history = (csi, scope) =>
  call('GET', `/v1/transparency/history?csi=${encodeURIComponent(csi)}&scope=${encodeURIComponent(scope)}`);
