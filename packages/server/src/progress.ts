import process from 'node:process';
import cliProgress from 'cli-progress';
import type { CliIo } from './cli.ts';

/** Progress of one long step, in bytes. */
export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

const MiB = 1024 * 1024;
const PLAIN_EVERY_MS = 2000;

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * A progress bar (bytes, rate, ETA) on stderr when it is a terminal; otherwise a plain line every
 * two seconds and one at the end, through `io.err`, so logs and pipes stay readable.
 */
export function startProgress(
  label: string,
  total: number | null,
  io: Pick<CliIo, 'err' | 'errIsTerminal'>,
): Progress {
  const line = io.err;
  const started = performance.now();
  const rate = (bytes: number) => `${mib(bytes / Math.max((performance.now() - started) / 1000, 0.001))}/s`;
  if (io.errIsTerminal === true) {
    const bar = new cliProgress.SingleBar(
      {
        format:
          total === null
            ? `${label} {done} at {rate}`
            : `${label} [{bar}] {percentage}% {done} of ${mib(total)} at {rate}, ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total ?? 0, 0, { done: mib(0), rate: rate(0) });
    let last = 0;
    return {
      update(bytes) {
        last = bytes;
        bar.update(total === null ? 0 : Math.min(bytes, total), { done: mib(bytes), rate: rate(bytes) });
      },
      stop() {
        bar.update(total === null ? 0 : Math.min(last, total), { done: mib(last), rate: rate(last) });
        bar.stop();
      },
    };
  }
  let shown = performance.now();
  let last = 0;
  const show = (bytes: number) => {
    const percent = total === null || total === 0 ? '' : ` (${Math.floor((100 * bytes) / total)}%)`;
    line(`${label}: ${mib(bytes)}${percent} at ${rate(bytes)}`);
  };
  return {
    update(bytes) {
      last = bytes;
      if (performance.now() - shown < PLAIN_EVERY_MS) return;
      shown = performance.now();
      show(bytes);
    },
    stop() {
      show(last);
    },
  };
}
