import process from 'node:process';
import { VERSION } from '../version.ts';
import type { MetricsRegistry } from './registry.ts';

/** Which runtime runs this process, and its version: the one place the server tells them apart. */
export function runtimeInfo(): { readonly runtime: 'node' | 'bun' | 'deno'; readonly version: string } {
  const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string };
  if (versions.bun !== undefined) return { runtime: 'bun', version: versions.bun };
  if (versions.deno !== undefined) return { runtime: 'deno', version: versions.deno };
  return { runtime: 'node', version: versions.node };
}

/** `raftkit_build_info{version,runtime,runtime_version} 1`: join on it to tell what runs where. */
export function registerBuildInfo(registry: MetricsRegistry): void {
  const { runtime, version } = runtimeInfo();
  const labels = { version: VERSION, runtime, runtime_version: version };
  registry.gauge(
    {
      name: 'raftkit_build_info',
      help: 'The raftkit version and the runtime serving it; always 1.',
      labels: ['version', 'runtime', 'runtime_version'],
    },
    () => [[labels, 1]],
  );
}
