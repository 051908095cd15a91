import { spawn } from 'node:child_process';
import { ensureTls, processTrusts } from './tls.js';

/**
 * Node reads NODE_EXTRA_CA_CERTS only at start-up. If this process does not yet trust the sandbox certificate,
 * run the same command again with it set (passing signals and the exit code through) and return false;
 * return true when this process already trusts it and should carry on.
 */
export async function trustSandboxOrRelaunch(tlsDir: string): Promise<boolean> {
  const { certPath, cert } = await ensureTls(tlsDir);
  if (processTrusts(cert)) return true;
  const child = spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath } });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (child.pid !== undefined && child.exitCode === null) child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return false;
}
