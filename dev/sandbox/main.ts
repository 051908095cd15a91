// CLI: starts the sandbox, prints one JSON line describing it, runs until SIGINT/SIGTERM.
// Usage: node dist/dev/sandbox/main.js [--data DIR] [--arm-port N] [--vault-port N] [--blob-port N] [--table-port N]
// Env: SANDBOX_FAULTS (JSON array, see faults.ts), SANDBOX_EXTRA_ACCOUNTS (synthetic storage accounts for benchmarks).
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { faultsFromEnv } from './faults.js';
import { startSandbox } from './index.js';
import { trustSandboxOrRelaunch } from './relaunch.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    'arm-port': { type: 'string' },
    'vault-port': { type: 'string' },
    'blob-port': { type: 'string' },
    'table-port': { type: 'string' },
  },
});

function port(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag} must be a port number (0-65535); got '${value}'`);
  return n;
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer; got '${value}'`);
  return n;
}

const base = process.env['SANDBOX_DIR'] ?? '.sandbox';
const dataDir = resolve(values.data ?? join(base, 'data'));
const tlsDir = resolve(join(base, 'tls'));
if (await trustSandboxOrRelaunch(tlsDir)) {
  const armPort = port('arm-port', values['arm-port']);
  const vaultPort = port('vault-port', values['vault-port']);
  const blobPort = port('blob-port', values['blob-port']);
  const tablePort = port('table-port', values['table-port']);
  const extraStorageAccounts = count('SANDBOX_EXTRA_ACCOUNTS', process.env['SANDBOX_EXTRA_ACCOUNTS']);
  const sandbox = await startSandbox({
    dataDir,
    tlsDir,
    ...(armPort !== undefined && { armPort }),
    ...(vaultPort !== undefined && { vaultPort }),
    ...(blobPort !== undefined && { blobPort }),
    ...(tablePort !== undefined && { tablePort }),
    faults: faultsFromEnv(process.env['SANDBOX_FAULTS']),
    ...(extraStorageAccounts !== undefined && { extraStorageAccounts }),
  });
  // The issuer keys hold the private signing key: never printed (JSON.stringify drops the functions).
  const { issuerKeys: _keys, ...info } = sandbox;
  process.stdout.write(`${JSON.stringify({ ...info, dataDir })}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    sandbox.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error('[sandbox] error while stopping:', e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
