// CLI run by `npm test` before jest: jest needs NODE_EXTRA_CA_CERTS to point at a cert that exists at process start.
import { join } from 'node:path';
import { ensureTls } from './tls.js';

const base = process.env['SANDBOX_DIR'] ?? '.sandbox';
await ensureTls(join(base, 'tls'));
