import { type ChildProcess, spawn } from 'node:child_process';

export interface SupervisedOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** First restart delay; it doubles per quick death, up to `maxBackoffMs`. Default 500 ms. */
  readonly backoffMs?: number;
  /** Default 10 s. */
  readonly maxBackoffMs?: number;
  /** A process that ran this long before dying is restarted at the first delay again. Default 10 s. */
  readonly stableMs?: number;
  readonly log: (line: string) => void;
}

/**
 * One process kept running the way systemd's `Restart=always` would: when it dies for any reason
 * but `stop()`, it is started again after a delay that doubles while it keeps dying quickly, so
 * a node that cannot start (bad data, port taken) is retried without spinning.
 */
export class Supervised {
  #child: ChildProcess | null = null;
  #stopping = false;
  #failures = 0;
  #restartTimer: ReturnType<typeof setTimeout> | null = null;
  #stopped: Promise<void> = Promise.resolve();
  #markStopped: () => void = () => {};

  constructor(private readonly options: SupervisedOptions) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): void {
    this.#stopped = new Promise((resolve) => {
      this.#markStopped = resolve;
    });
    this.#spawn();
  }

  /** Stops the process (SIGTERM, by pid) and keeps it stopped. */
  stop(): Promise<void> {
    this.#stopping = true;
    if (this.#restartTimer !== null) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
      this.#markStopped();
    }
    const child = this.#child;
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return this.#stopped;
  }

  #spawn(): void {
    const { command, args, env, name, log } = this.options;
    const startedAt = Date.now();
    const child = spawn(command, [...args], { stdio: ['ignore', 'inherit', 'inherit'], env });
    this.#child = child;
    child.once('error', (error) => log(`${name}: could not start: ${error.message}`));
    child.once('exit', (code, signal) => {
      this.#child = null;
      if (this.#stopping) {
        this.#markStopped();
        return;
      }
      const { backoffMs = 500, maxBackoffMs = 10_000, stableMs = 10_000 } = this.options;
      this.#failures = Date.now() - startedAt >= stableMs ? 1 : this.#failures + 1;
      const delay = Math.min(backoffMs * 2 ** (this.#failures - 1), maxBackoffMs);
      log(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (!this.#stopping) this.#spawn();
      }, delay);
    });
  }
}
