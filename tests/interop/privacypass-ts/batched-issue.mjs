// Obtains COUNT type 0x0002 tokens from a DP in one generic batched issuance request
// (draft-ietf-privacypass-batched-tokens §6), with Cloudflare's privacypass-ts as the client, and
// prints each finalized token as base64url, one per line (absent answers are skipped).
//   node batched-issue.mjs DP_ORIGIN API_KEY COUNT ISSUER_NAME
// The DP's TLS certificate is trusted through NODE_EXTRA_CA_CERTS.
import { webcrypto } from 'node:crypto';

// Node 18 (Debian 12's) has Web Crypto only as a module; privacypass-ts expects the global.
globalThis.crypto ??= webcrypto;
const { TokenChallenge, TOKEN_TYPES, publicVerif, genericBatched } = await import('@cloudflare/privacypass-ts');

const [origin, apiKey, countText, issuerName] = process.argv.slice(2);
const count = Number.parseInt(countText, 10);
const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

const directory = await (await fetch(new URL('/.well-known/private-token-issuer-directory', origin))).json();
const balance = await (await fetch(new URL('/v1/tokens/balance', origin), { headers: { Authorization: `Bearer ${apiKey}` } })).json();
const now = Date.now() / 1000;
const key = directory['token-keys']
  .filter((k) => k['token-type'] === TOKEN_TYPES.BLIND_RSA.value && (k.service ?? null) === (balance.service ?? null) && !(k['not-before'] > now))
  .sort((a, b) => (a['not-before'] ?? 0) - (b['not-before'] ?? 0))
  .pop();
const publicKey = new Uint8Array(Buffer.from(key['token-key'], 'base64url'));
const challenge = new TokenChallenge(TOKEN_TYPES.BLIND_RSA.value, issuerName, new Uint8Array(), [issuerName]);

// One client per token: a privacypass-ts client keeps the blinding state of its last request.
const clients = [];
const requests = [];
for (let i = 0; i < count; i++) {
  const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
  requests.push(new genericBatched.TokenRequest(await client.createTokenRequest(challenge, publicKey)));
  clients.push(client);
}

const batch = new genericBatched.Client().createTokenRequest(requests);
const response = await fetch(new URL(directory['issuer-request-uri'], origin), {
  method: 'POST',
  headers: { 'Content-Type': 'application/private-token-generic-batch-request', Authorization: `Bearer ${apiKey}` },
  body: batch.serialize(),
});
if (response.status !== 200 && response.status !== 206) {
  console.error(`issuance refused: HTTP ${response.status} ${await response.text()}`);
  process.exit(1);
}

const answers = new genericBatched.Client().deserializeTokenResponse(new Uint8Array(await response.arrayBuffer()));
for (const [i, answer] of answers.tokenResponses.entries()) {
  if (answer.tokenResponse !== null) {
    const token = await clients[i].finalize(answer.tokenResponse);
    console.log(b64url(token.serialize()));
  }
}
