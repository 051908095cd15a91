import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { LOCAL_MCP_URL, vsCodeConfigText } from '../dev/vscode-config.js';

/**
 * The committed .vscode/ files: the MCP server entry is the one `npm start` writes, and every command, script and
 * file the launch configurations and tasks name exists and does what the configuration says.
 */
interface LaunchConfiguration {
  name: string;
  type: string;
  request: 'launch' | 'attach';
  program?: string;
  runtimeExecutable?: string;
  runtimeArgs?: string[];
  args?: string[];
  env?: Record<string, string>;
  preLaunchTask?: string;
  processId?: string;
}

const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;
const launch = readJson<{ configurations: LaunchConfiguration[] }>('.vscode/launch.json');
const tasks = readJson<{ tasks: { label: string; command: string }[] }>('.vscode/tasks.json');
const scripts = readJson<{ scripts: Record<string, string> }>('package.json').scripts;
const configuration = (name: string) => launch.configurations.find((candidate) => candidate.name.startsWith(name))!;

/** VS Code's variables, as it fills them in with `file` (relative to the workspace) open in the editor. */
function substitute(text: string, file: string): string {
  const dirname = file.slice(0, file.lastIndexOf('/'));
  const basename = file.slice(file.lastIndexOf('/') + 1);
  return text
    .replaceAll('${workspaceFolder}', process.cwd())
    .replaceAll('${relativeFileDirname}', dirname)
    .replaceAll('${fileBasenameNoExtension}', basename.slice(0, basename.lastIndexOf('.')));
}

describe('.vscode/', () => {
  it('mcp.json is exactly what npm start writes for its default URL (dev/vscode-config.ts)', () => {
    expect(readFileSync('.vscode/mcp.json', 'utf8')).toBe(vsCodeConfigText(LOCAL_MCP_URL));
    expect(readFileSync('dev/start.ts', 'utf8')).toContain('Number(process.env.PORT ?? 7071)');
    expect(new URL(LOCAL_MCP_URL).port).toBe('7071');
  });

  it('launches npm start with its child processes attached, and attaches to a process the engineer picks', () => {
    const start = configuration('npm start');
    expect(start).toMatchObject({ type: 'node', request: 'launch', runtimeExecutable: 'npm', runtimeArgs: ['start'], autoAttachChildProcesses: true });
    expect(scripts.start).toBeDefined();
    expect(configuration('Attach')).toMatchObject({ type: 'node', request: 'attach', processId: '${command:PickProcess}' });
  });

  it('debugs the open test file from dist/ after the build the test command runs, and jest finds exactly that file', () => {
    const jest = configuration('Jest');
    const task = tasks.tasks.find((candidate) => candidate.label === jest.preLaunchTask);
    expect(task).toBeDefined();
    // The task does what `npm test` does before jest: the build, then the sandbox's TLS files (dev/test.sh), and the
    // launch runs jest as dev/test.sh does, trusting the same certificate.
    const [build, tls] = task!.command.split(' && ');
    expect(scripts.test).toBe(`${build} && sh dev/test.sh`);
    const runner = readFileSync('dev/test.sh', 'utf8');
    expect(runner).toContain(`\n${tls}\n`);
    expect(runner).toContain('NODE_EXTRA_CA_CERTS=.sandbox/tls/cert.pem\n');
    expect(runner).toContain(`node ${jest.runtimeArgs!.join(' ')} ${relative('.', substitute(jest.program!, ''))} "$@"`);
    expect(jest.env).toEqual({ NODE_EXTRA_CA_CERTS: '${workspaceFolder}/.sandbox/tls/cert.pem' });
    // CONTRIBUTING's one-file command runs just that file.
    expect(readFileSync('CONTRIBUTING.md', 'utf8')).toContain('`npm test -- dist/test/<file>.test.js`');
    const one = resolve('dist/test/vscode-files.test.js');
    const listed = spawnSync('sh', ['dev/test.sh', one, '--listTests'], { encoding: 'utf8' });
    expect({ status: listed.status, listed: listed.stdout.trim().split('\n').at(-1) }).toEqual({ status: 0, listed: one });
    expect(existsSync(substitute(jest.env!.NODE_EXTRA_CA_CERTS!, ''))).toBe(true);

    for (const open of ['test/vscode-files.test.ts', 'test/hostile/names.test.ts']) {
      const program = substitute(jest.program!, open);
      const args = jest.args!.map((arg) => substitute(arg, open));
      const compiled = resolve('dist', open.replace(/\.ts$/, '.js'));
      expect(args.at(-1)).toBe(compiled);
      const listed = spawnSync(process.execPath, [...jest.runtimeArgs!, program, ...args, '--listTests'], { encoding: 'utf8' });
      expect({ open, status: listed.status, listed: listed.stdout.trim().split('\n') }).toEqual({ open, status: 0, listed: [compiled] });
    }
  });
});
