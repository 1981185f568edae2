import { readdirSync, readFileSync } from 'node:fs';
import process from 'node:process';
import type { MetricsRegistry } from './registry.ts';

/**
 * The process families under the names every Prometheus client library uses (`process_*`, no
 * `raftkit_` prefix), so stock dashboards and alerts work unchanged. Only `node:process` and
 * `/proc`, which Node, Bun and Deno all offer; where `/proc` cannot be read (not Linux, or no
 * permission) the fd families report no samples instead of failing the scrape.
 */
export function registerProcessMetrics(registry: MetricsRegistry): void {
  const startTime = Date.now() / 1000 - process.uptime();
  registry.counter(
    { name: 'process_cpu_seconds_total', help: 'CPU time this process has used, user plus system.' },
    () => {
      const { user, system } = process.cpuUsage();
      return [[{}, (user + system) / 1e6]];
    },
  );
  registry.gauge(
    { name: 'process_resident_memory_bytes', help: 'Memory of this process held in RAM.' },
    () => [[{}, process.memoryUsage().rss]],
  );
  registry.gauge(
    { name: 'process_start_time_seconds', help: 'When this process started, as a Unix time.' },
    () => [[{}, Math.round(startTime)]],
  );
  registry.gauge({ name: 'process_open_fds', help: 'File descriptors this process holds open.' }, () =>
    fromProc(() => readdirSync('/proc/self/fd').length),
  );
  registry.gauge({ name: 'process_max_fds', help: 'The soft limit on open file descriptors.' }, () =>
    fromProc(() => {
      const line = readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Max open files'));
      const soft = Number(line?.split(/\s{2,}/)[1]);
      if (!Number.isFinite(soft)) throw new Error('no soft limit');
      return soft;
    }),
  );
}

function fromProc(read: () => number): [Record<never, string>, number][] {
  try {
    return [[{}, read()]];
  } catch {
    return [];
  }
}
