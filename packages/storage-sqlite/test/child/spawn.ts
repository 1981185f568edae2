import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { currentRuntime } from '../../src/driver/select.ts';

const storeChild = fileURLToPath(new URL('./store-child.ts', import.meta.url));
const registerTs = new URL('./register-ts.mjs', import.meta.url).href;

/** The command that runs a TypeScript file on the runtime running this test. */
function command(script: string): string[] {
  switch (currentRuntime()) {
    case 'node':
      return [process.execPath, '--conditions=@raftkit/source', '--import', registerTs, script];
    case 'bun':
      return [process.execPath, '--conditions=@raftkit/source', script];
    case 'deno':
      return [process.execPath, 'run', '-A', '--conditions=@raftkit/source', script];
  }
}

/** A store-child.ts process on this runtime, read line by line. Always `kill()` it in a finally. */
export class StoreChild {
  readonly #process: ChildProcess;
  readonly #lines: string[] = [];
  #waiters: (() => void)[] = [];
  #stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: readonly string[], options: { uid?: number; env?: Record<string, string> } = {}) {
    const [file, ...argv] = command(storeChild);
    this.#process = spawn(file!, [...argv, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      env: { ...process.env, ...options.env },
    });
    let partial = '';
    this.#process.stdout!.setEncoding('utf8').on('data', (text: string) => {
      const parts = (partial + text).split('\n');
      partial = parts.pop()!;
      this.#lines.push(...parts);
      this.#wake();
    });
    this.#process.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.#stderr += text;
    });
    this.exited = new Promise((resolve) => {
      this.#process.on('exit', (code) => {
        this.#wake();
        resolve(code);
      });
    });
  }

  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Resolves with the first line (already read or to come) that satisfies `match`. */
  async waitFor(match: (line: string) => boolean): Promise<string> {
    for (;;) {
      const line = this.#lines.find(match);
      if (line !== undefined) return line;
      if (this.#process.exitCode !== null || this.#process.signalCode !== null) {
        throw new Error(
          `child exited (${this.#process.exitCode ?? this.#process.signalCode}): ${this.#stderr}`,
        );
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** SIGKILL, by pid: no chance to close anything, as in a crash. Resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.#process.exitCode === null && this.#process.signalCode === null) {
      process.kill(this.#process.pid!, 'SIGKILL');
    }
    await this.exited;
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
